import ControlPlaneCore
import Foundation

/// controlplane-sync's settings (every name is in the README).
struct SyncConfiguration {
    var signingKeys: [SigningKey]
    var issuer: String
    var tokenLifetimeSeconds: Int
    var httpTimeoutSeconds: Double
    var maxAttempts: Int
    var backoffBaseSeconds: Double
    var maxRetryAfterSeconds: Double
    /// Development only: registries over plain http beyond loopback (`CONTROLPLANE_REGISTRY_ALLOW_HTTP`).
    var registryAllowHTTP: Bool
    /// The largest registry answer read (`CONTROLPLANE_SYNC_MAX_RESPONSE_BYTES`, default 64 MiB).
    var maxResponseBytes: Int
    /// How often a sweep logs its progress and tells systemd (`CONTROLPLANE_SYNC_PROGRESS_SECONDS`).
    var progressSeconds: Double
    /// Deadlines for stuck work (README, "Stuck work").
    var adminJobLeaseSeconds: Int
    var commandAckSeconds: Int
    var provisioningTimeoutSeconds: Int
    var nodeStaleSeconds: Int
    var regionStaleSeconds: Int
    var rules: GovernanceRules.Settings

    init(_ environment: Environment) throws {
        signingKeys = try SigningKey.load(environment)
        issuer = environment.string("CONTROLPLANE_JWT_ISSUER", default: "controlplane")
        tokenLifetimeSeconds = try environment.int("CONTROLPLANE_JWT_LIFETIME_SECONDS", default: 120, range: 10...PreflightJWT.maximumLifetime)
        httpTimeoutSeconds = try environment.double("CONTROLPLANE_SYNC_TIMEOUT_SECONDS", default: 15)
        maxAttempts = try environment.int("CONTROLPLANE_SYNC_MAX_ATTEMPTS", default: 4, range: 1...20)
        backoffBaseSeconds = try environment.double("CONTROLPLANE_SYNC_BACKOFF_SECONDS", default: 0.5)
        maxRetryAfterSeconds = try environment.double("CONTROLPLANE_SYNC_MAX_RETRY_AFTER_SECONDS", default: 60)
        registryAllowHTTP = try environment.bool("CONTROLPLANE_REGISTRY_ALLOW_HTTP", default: false)
        maxResponseBytes = try environment.int("CONTROLPLANE_SYNC_MAX_RESPONSE_BYTES", default: 64 << 20, range: 1024...(1 << 30))
        progressSeconds = try environment.double("CONTROLPLANE_SYNC_PROGRESS_SECONDS", default: 10)
        // Renewed before every request and wait, so it must outlast the longest of those.
        adminJobLeaseSeconds = try environment.int("CONTROLPLANE_ADMIN_JOB_LEASE_SECONDS", default: 300, range: 30...86_400)
        commandAckSeconds = try environment.int("CONTROLPLANE_COMMAND_ACK_SECONDS", default: 3600, range: 1...604_800)
        provisioningTimeoutSeconds = try environment.int("CONTROLPLANE_PROVISIONING_TIMEOUT_SECONDS", default: 3600, range: 1...604_800)
        nodeStaleSeconds = try environment.int("CONTROLPLANE_NODE_STALE_SECONDS", default: 40, range: 1...86_400)
        regionStaleSeconds = try environment.int("CONTROLPLANE_REGION_STALE_SECONDS", default: 900, range: 10...604_800)
        rules = try GovernanceRules.Settings(environment: environment)
        // Between two renewals lies at most one request, one Retry-After wait or one backoff.
        let longestGap = max(httpTimeoutSeconds, maxRetryAfterSeconds, SyncConfiguration.longestBackoffSeconds)
        guard Double(adminJobLeaseSeconds) >= longestGap + 30 else {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_ADMIN_JOB_LEASE_SECONDS",
                                             expected: "at least \(Int(longestGap) + 30) s (the longest request, Retry-After wait or backoff, plus 30 s)")
        }
    }

    static let longestBackoffSeconds = 45.0

    /// The key that signs: the first configured.
    func signer() throws -> SigningKey {
        guard let key = signingKeys.first else {
            throw ConfigurationError.missing("CONTROLPLANE_JWT_KEY_FILES (an Ed25519 PEM key; make one with cpctl keys generate)")
        }
        return key
    }

    /// Exponential backoff with full jitter around the nominal delay.
    func backoff(attempt: Int) -> Double {
        min(backoffBaseSeconds * pow(2, Double(attempt - 1)), SyncConfiguration.longestBackoffSeconds / 1.5) * Double.random(in: 0.5...1.5)
    }
}
