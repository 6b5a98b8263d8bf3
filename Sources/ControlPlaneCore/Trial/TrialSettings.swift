/// The trial funnel's limits (one-time codes per OWASP ASVS V6: ≥ 6 digits from a CSPRNG,
/// ≤ 10 minutes, ≤ 5 submissions, a new code replaces the old, sends rate-limited).
public struct TrialSettings: Sendable {
    public var codeDigits = 6
    public var codeLifetimeSeconds = 600
    public var maxCodeAttempts = 5
    public var resendCooldownSeconds = 60
    public var maxSendsPerDraft = 5
    /// Per mailbox (case folded, `+tag` stripped), per day.
    public var maxSendsPerAddressPerDay = 10
    public var maxSendsPerDomainPerHour = 30
    public var maxSendsPerDomainPerDay = 200
    /// Every code the funnel sends, per hour: the brake on a mail bomb spread over domains.
    public var maxSendsPerHour = 1000
    /// New drafts per client network (an IPv4 address, an IPv6 /64) per hour.
    public var maxDraftsPerNetworkPerHour = 20
    public var dictionaryPollSeconds = 2.0
    /// Signup attempt rows older than this are purged by `controlplane-sync health-sweep`.
    public var attemptRetentionDays = 90
    /// Drafts never submitted are purged by `controlplane-sync health-sweep` after this.
    public var draftRetentionDays = 30
    /// Whether `email/check` may answer `existing_tenant` to anyone (off: it answers as for
    /// any work domain, and a draft's status tells once its work email is verified).
    public var revealExistingTenant = false

    public init() {}

    public init(environment: Environment) throws {
        codeLifetimeSeconds = try environment.int("CONTROLPLANE_OTP_LIFETIME_SECONDS", default: 600, range: 60...600)
        maxCodeAttempts = try environment.int("CONTROLPLANE_OTP_MAX_ATTEMPTS", default: 5, range: 1...5)
        resendCooldownSeconds = try environment.int("CONTROLPLANE_OTP_RESEND_COOLDOWN_SECONDS", default: 60, range: 0...3600)
        maxSendsPerDraft = try environment.int("CONTROLPLANE_OTP_MAX_SENDS_PER_DRAFT", default: 5, range: 1...100)
        maxSendsPerAddressPerDay = try environment.int("CONTROLPLANE_OTP_MAX_SENDS_PER_ADDRESS_PER_DAY", default: 10, range: 1...1000)
        maxSendsPerDomainPerHour = try environment.int("CONTROLPLANE_OTP_MAX_SENDS_PER_DOMAIN_PER_HOUR", default: 30, range: 1...1_000_000)
        maxSendsPerDomainPerDay = try environment.int("CONTROLPLANE_OTP_MAX_SENDS_PER_DOMAIN_PER_DAY", default: 200, range: 1...1_000_000)
        maxSendsPerHour = try environment.int("CONTROLPLANE_OTP_MAX_SENDS_PER_HOUR", default: 1000, range: 1...10_000_000)
        maxDraftsPerNetworkPerHour = try environment.int("CONTROLPLANE_TRIAL_MAX_DRAFTS_PER_NETWORK_PER_HOUR", default: 20,
                                                         range: 1...1_000_000)
        dictionaryPollSeconds = try environment.double("CONTROLPLANE_DICTIONARY_POLL_SECONDS", default: 2)
        attemptRetentionDays = try environment.int("CONTROLPLANE_SIGNUP_ATTEMPT_RETENTION_DAYS", default: 90, range: 1...3650)
        draftRetentionDays = try environment.int("CONTROLPLANE_TRIAL_DRAFT_RETENTION_DAYS", default: 30, range: 1...3650)
        revealExistingTenant = try environment.bool("CONTROLPLANE_TRIAL_REVEAL_EXISTING_TENANT", default: false)
    }
}
