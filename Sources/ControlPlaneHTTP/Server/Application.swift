import ControlPlaneCore
import FastCGI
import Postgres
import ServiceLog

/// Settings of the HTTP application itself (not of the transport).
public struct ApplicationSettings: Sendable {
    public var databaseURL: String
    public var databaseOptions: PostgresConnection.Options
    public var accessLog: Bool
    /// How long a worker trusts a token lookup (revocations take effect within this).
    public var tokenCacheSeconds: Int
    /// While the database is unreachable, how long past that a looked-up token is still believed.
    public var tokenStaleIfUnavailableSeconds = 60
    /// How often the in-memory tenant directory checks its version without a NOTIFY: the bound
    /// on how long another process's tenant change takes to show here, should a NOTIFY be lost.
    public var directoryPollMilliseconds = 500
    /// How often token usage (quota counters, last use) is written: at most a second.
    public var tokenUsageFlushMilliseconds = 1000
    /// `whsec_…` secret the provisioner signs its callbacks with.
    public var provisionerSecret: String?
    /// `CONTROLPLANE_PROVISIONER_SECRETS`, comma-separated, for a rotation: the new secret and
    /// the old one until the provisioner has moved.
    public var provisionerSecretList: [String]?
    /// Every secret a provisioning callback may be signed with.
    public var provisionerSecrets: [String] { provisionerSecretList ?? provisionerSecret.map { [$0] } ?? [] }
    /// SHA-256 of each accepted `PPOS_CONTROL_TOKEN` (several during a rotation).
    public var controlTokenHashes: [[UInt8]] = []
    /// A node without a heartbeat for this long is STALE.
    public var nodeStaleSeconds = 40
    /// Public keys served as JWKS (the PREFLIGHT_JWT signing keys).
    public var jwtKeys: [SigningKey] = []
    /// Key of the HMACs in signup attempt logs and of one-time codes (`CONTROLPLANE_HASH_KEY`).
    public var hashKey: [UInt8]?
    public var trial = TrialSettings()
    /// The optional bot check on draft creation and code sends.
    public var botCheck: BotCheck?
    /// Seals webhook signing secrets at rest (`CONTROLPLANE_SECRETS_KEYS`); nil: no endpoint can be registered.
    public var secretKeys: SecretKeyRing?
    /// Where webhook receivers may be (no loopback, private or metadata addresses by default).
    public var webhookDestinations = WebhookDestinationPolicy()
    /// Development only: regional registries over plain http beyond loopback.
    public var registryAllowHTTP = false
    /// The console signs in the operator nginx names in `PROXY_OPERATOR` after its own
    /// authentication (auth_basic, or auth_request to an SSO proxy). Off unless configured.
    public var consoleProxySignIn = false

    public init(databaseURL: String, databaseOptions: PostgresConnection.Options = .init(), accessLog: Bool = true,
                tokenCacheSeconds: Int = 5, provisionerSecret: String? = nil) {
        self.databaseURL = databaseURL
        self.databaseOptions = databaseOptions
        self.accessLog = accessLog
        self.tokenCacheSeconds = tokenCacheSeconds
        self.provisionerSecret = provisionerSecret
    }

    public init(environment: Environment) throws {
        var options = PostgresConnection.Options()
        options.statementTimeoutMilliseconds = try environment.int(
            "CONTROLPLANE_STATEMENT_TIMEOUT_MS", default: 5000, range: 1...600_000)
        options.connectTimeoutSeconds = try environment.int(
            "CONTROLPLANE_DB_CONNECT_TIMEOUT_SECONDS", default: 3, range: 1...60)
        // No request waits on anything but the database inside a transaction.
        options.idleInTransactionTimeoutMilliseconds = try environment.int(
            "CONTROLPLANE_IDLE_IN_TRANSACTION_TIMEOUT_MS", default: 5000, range: 0...600_000)
        options.applicationName = "controlplaned"
        // The systemd credential `controlplane-database-password` (or …_FILE), never the unit's environment.
        options.password = try environment.secret("CONTROLPLANE_DATABASE_PASSWORD")
        self.init(databaseURL: try environment.databaseURL(preferring: "CONTROLPLANE_DATABASE_URL"),
                  databaseOptions: options,
                  accessLog: try environment.bool("CONTROLPLANE_ACCESS_LOG", default: true),
                  tokenCacheSeconds: try environment.int("CONTROLPLANE_TOKEN_CACHE_SECONDS", default: 5, range: 0...3600),
                  provisionerSecret: try environment.secret("CONTROLPLANE_PROVISIONER_SECRET"))
        controlTokenHashes = try ControlTokens.load(environment).map { ServiceToken.hash($0) }
        tokenUsageFlushMilliseconds = try environment.int("CONTROLPLANE_TOKEN_USAGE_FLUSH_MS", default: 1000, range: 50...1000)
        tokenStaleIfUnavailableSeconds = try environment.int("CONTROLPLANE_TOKEN_STALE_IF_UNAVAILABLE_SECONDS", default: 60, range: 0...3600)
        directoryPollMilliseconds = try environment.int("CONTROLPLANE_DIRECTORY_POLL_MS", default: 500, range: 50...1000)
        nodeStaleSeconds = try environment.int("CONTROLPLANE_NODE_STALE_SECONDS", default: 40, range: 1...86_400)
        jwtKeys = try SigningKey.loadPublic(environment)
        hashKey = try environment.secret("CONTROLPLANE_HASH_KEY").map { Array($0.utf8) }
        if let key = hashKey, key.count < 16 {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_HASH_KEY", expected: "at least 16 characters of secret")
        }
        trial = try TrialSettings(environment: environment)
        botCheck = try BotCheck.load(environment)
        secretKeys = try SecretKeyRing.load(environment)
        webhookDestinations = try WebhookDestinationPolicy(environment: environment)
        registryAllowHTTP = try environment.bool("CONTROLPLANE_REGISTRY_ALLOW_HTTP", default: false)
        consoleProxySignIn = try environment.bool("CONTROLPLANE_CONSOLE_PROXY_SIGN_IN", default: false)
        if let secret = provisionerSecret, StandardWebhooks.key(fromSecret: secret) == nil {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_PROVISIONER_SECRET", expected: "whsec_ followed by base64 of 24 to 64 bytes")
        }
        if let list = try environment.secret("CONTROLPLANE_PROVISIONER_SECRETS") {
            let secrets = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !secrets.isEmpty, secrets.count <= 8, secrets.allSatisfy({ StandardWebhooks.key(fromSecret: $0) != nil }) else {
                throw ConfigurationError.invalid(key: "CONTROLPLANE_PROVISIONER_SECRETS",
                                                 expected: "1 to 8 comma-separated secrets, each in the form CONTROLPLANE_PROVISIONER_SECRET takes")
            }
            provisionerSecretList = secrets
        }
    }
}

/// The routes and shared settings; one per process, shared by every worker thread.
public final class Application: Sendable {
    public let settings: ApplicationSettings
    public let router: Router
    public let logger: Logger
    public let dictionary = DomainDictionary()
    public let tenantDirectory = TenantDirectory()
    public let attemptLog: AttemptLogWriter
    public let metrics = Metrics()
    public let tokenLimiter = TokenLimiter()

    /// `routes` is replaceable so tests can drive the responder with routes of their own.
    public init(settings: ApplicationSettings, logger: Logger, routes: (inout Router) -> Void = Routes.register(on:)) {
        self.settings = settings
        self.logger = logger
        var router = Router()
        routes(&router)
        self.router = router
        var options = settings.databaseOptions
        options.applicationName = "controlplaned-attempts"
        attemptLog = AttemptLogWriter(conninfo: settings.databaseURL, options: options, logger: logger)
        _ = ProcessMetrics.startedAt
    }

    /// A responder for one worker thread, with its own database connection.
    public func makeResponder() -> ApplicationResponder {
        ApplicationResponder(application: self,
                             database: PostgresConnection(conninfo: settings.databaseURL, options: settings.databaseOptions),
                             tokenCache: ServiceTokenCache(ttlSeconds: settings.tokenCacheSeconds,
                                                           staleIfUnavailableSeconds: settings.tokenStaleIfUnavailableSeconds))
    }

    /// Work that runs beside the worker threads: the dictionary and directory watchers, the
    /// attempt log writer, the token usage flusher.
    public func startBackgroundTasks() {
        var options = settings.databaseOptions
        options.applicationName = "controlplaned-watcher"
        dictionary.startWatching(conninfo: settings.databaseURL, options: options,
                                 pollSeconds: settings.trial.dictionaryPollSeconds, logger: logger)
        options.applicationName = "controlplaned-directory"
        tenantDirectory.startWatching(conninfo: settings.databaseURL, options: options,
                                      pollMilliseconds: Int32(settings.directoryPollMilliseconds), logger: logger)
        attemptLog.start()
        options.applicationName = "controlplaned-usage"
        TokenUsageFlusher.start(limiter: tokenLimiter, conninfo: settings.databaseURL, options: options,
                                intervalMilliseconds: settings.tokenUsageFlushMilliseconds, logger: logger)
    }
}

/// Every route the backend serves; openapi/controlplane.yaml documents each operationId.
public enum Routes {
    public static func register(on router: inout Router) {
        router.add("GET", "/internal/health", operationId: "getHealth", HealthHandlers.health)
        router.add("GET", "/internal/live", operationId: "getLiveness", HealthHandlers.live)
        router.add("GET", "/internal/metrics", operationId: "getMetrics", OperationsHandlers.metrics)
        router.add("GET", "/internal/status", operationId: "getStatus", OperationsHandlers.status)

        router.add("POST", "/internal/tenants", operationId: "createTenant", TenantHandlers.create)
        router.add("GET", "/internal/tenants/{id}", operationId: "getTenant", TenantHandlers.get)
        router.add("GET", "/internal/tenants/{id}/events", operationId: "listTenantEvents", TenantHandlers.events)
        router.add("POST", "/internal/tenants/{id}/suspend", operationId: "suspendTenant",
                   TenantHandlers.action(.suspend, reasonRequired: true))
        router.add("POST", "/internal/tenants/{id}/resume", operationId: "resumeTenant",
                   TenantHandlers.action(.resume, reasonRequired: false))
        router.add("POST", "/internal/tenants/{id}/deprovision", operationId: "deprovisionTenant",
                   TenantHandlers.action(.deprovision, reasonRequired: true))
        router.add("POST", "/internal/tenants/{id}/provision", operationId: "retryTenantProvisioning",
                   TenantHandlers.action(.requestProvisioning, reasonRequired: false))
        router.add("GET", "/internal/tenants-directory", operationId: "listTenantsDirectory", DirectoryHandler.list)
        router.add("PATCH", "/internal/tenant-connector-metadata", operationId: "patchTenantConnectorMetadata",
                   ConnectorHandler.patch)
        router.add("POST", "/internal/provisioning/callbacks", operationId: "receiveProvisioningCallback",
                   ProvisioningCallbackHandler.receive)

        router.add("POST", "/internal/webhook-endpoints", operationId: "createWebhookEndpoint", WebhookEndpointHandlers.create)
        router.add("GET", "/internal/webhook-endpoints", operationId: "listWebhookEndpoints", WebhookEndpointHandlers.list)
        router.add("DELETE", "/internal/webhook-endpoints/{id}", operationId: "deleteWebhookEndpoint", WebhookEndpointHandlers.delete)
        router.add("GET", "/internal/webhook-endpoints/{id}/deliveries", operationId: "listWebhookDeliveries",
                   WebhookEndpointHandlers.deliveries)
        router.add("PATCH", "/internal/webhook-endpoints/{id}", operationId: "updateWebhookEndpoint", WebhookEndpointHandlers.update)
        router.add("POST", "/internal/webhook-endpoints/{id}/rotate-secret", operationId: "rotateWebhookSecret",
                   WebhookEndpointHandlers.rotateSecret)
        router.add("POST", "/internal/webhook-endpoints/{id}/recover", operationId: "recoverWebhookEndpoint", WebhookEndpointHandlers.recover)
        router.add("POST", "/internal/webhook-endpoints/{id}/test", operationId: "testWebhookEndpoint", WebhookEndpointHandlers.test)
        router.add("GET", "/internal/webhooks/event-types", operationId: "listWebhookEventTypes", WebhookEndpointHandlers.eventTypes)
        router.add("POST", "/internal/webhook-messages/{id}/resend", operationId: "resendWebhookMessage", WebhookEndpointHandlers.resend)
        router.add("GET", "/internal/.well-known/jwks.json", operationId: "getJWKS", JWKSHandler.jwks)

        router.add("GET", "/control/v1/regions", operationId: "listRegions", RegionHandlers.list)
        router.add("POST", "/control/v1/regions", operationId: "createRegion", RegionHandlers.create)
        router.add("GET", "/control/v1/regions/{region}", operationId: "getRegion", RegionHandlers.get)
        router.add("PATCH", "/control/v1/regions/{region}", operationId: "updateRegion", RegionHandlers.update)
        router.add("DELETE", "/control/v1/regions/{region}", operationId: "deleteRegion", RegionHandlers.remove)
        router.add("GET", "/control/v1/regions/{region}/versions", operationId: "getVersionCensus", RegionHandlers.versionCensus)
        router.add("GET", "/control/v1/regions/{region}/suppressions", operationId: "listRemediationSuppressions",
                   RegionHandlers.remediationSuppressions)
        router.add("GET", "/control/v1/regions/{region}/queues", operationId: "listQueueCapacities", RegionHandlers.queues)
        router.add("GET", "/control/v1/regions/{region}/findings", operationId: "countFindings", RegionHandlers.findings)
        router.add("GET", "/control/v1/nodes", operationId: "listNodes", RegionHandlers.nodes)
        router.add("GET", "/control/v1/jobs", operationId: "listJobs", JobHandlers.list)
        router.add("GET", "/control/v1/regions/{region}/jobs/{jobId}", operationId: "getJob", JobHandlers.get)
        router.add("GET", "/control/v1/regions/{region}/jobs/{jobId}/canonical-payload", operationId: "getCanonicalPayload",
                   JobHandlers.canonicalPayload)
        router.add("POST", "/control/v1/commands", operationId: "createCommand", CommandHandlers.create)
        router.add("GET", "/control/v1/commands", operationId: "listCommands", CommandHandlers.list)
        router.add("GET", "/control/v1/commands/{id}", operationId: "getCommand", CommandHandlers.get)
        router.add("POST", "/control/v1/commands/{id}/acknowledge", operationId: "acknowledgeCommand", CommandHandlers.acknowledge)
        router.add("POST", "/control/v1/admin-jobs", operationId: "createAdminJob", CommandHandlers.createAdminJob)
        router.add("GET", "/control/v1/admin-jobs", operationId: "listAdminJobs", CommandHandlers.listAdminJobs)
        router.add("GET", "/control/v1/admin-jobs/{id}", operationId: "getAdminJob", CommandHandlers.getAdminJob)
        router.add("GET", "/control/v1/rules", operationId: "listGovernanceRules", RulesHandler.list)

        router.add("GET", "/internal/audit", operationId: "listAuditLog", OperationsHandlers.audit)

        router.add("GET", "/console", operationId: "consoleOverview", ConsoleHandlers.guarded(ConsoleOverviewPage.show))
        router.add("GET", "/console/login", operationId: "consoleSignIn", ConsoleHandlers.guarded(ConsoleHandlers.login))
        router.add("POST", "/console/logout", operationId: "consoleSignOut", ConsoleHandlers.guarded(ConsoleHandlers.logout))
        router.add("GET", "/console/trials", operationId: "consoleTrials", ConsoleHandlers.guarded(ConsoleReviewQueuePage.trials))
        router.add("POST", "/console/trials/{draftId}/{decision}", operationId: "consoleDecideTrial",
                   ConsoleHandlers.guarded(ConsoleReviewQueuePage.decideTrial))
        router.add("GET", "/console/audit", operationId: "consoleAudit", ConsoleHandlers.guarded(ConsoleAuditPage.show))
        router.add("GET", "/console/drafts/{draftId}", operationId: "consoleTrialDraft", ConsoleHandlers.guarded(ConsoleTrialPages.draft))
        router.add("GET", "/console/signup-attempts", operationId: "consoleSignupAttempts", ConsoleHandlers.guarded(ConsoleTrialPages.attempts))
        router.add("GET", "/console/domains", operationId: "consoleDomains", ConsoleHandlers.guarded(ConsoleTrialPages.domains))
        router.add("POST", "/console/domains", operationId: "consoleAddDomain", ConsoleHandlers.guarded(ConsoleTrialPages.addDomain))
        router.add("POST", "/console/domains/import", operationId: "consoleImportDomains", ConsoleHandlers.guarded(ConsoleTrialPages.importDomains))
        router.add("POST", "/console/domains/{domain}/remove", operationId: "consoleRemoveDomain", ConsoleHandlers.guarded(ConsoleTrialPages.removeDomain))
        router.add("GET", "/console/tenants", operationId: "consoleTenants", ConsoleHandlers.guarded(ConsoleTenantPages.list))
        router.add("GET", "/console/tenants/{id}", operationId: "consoleTenant", ConsoleHandlers.guarded(ConsoleTenantPages.detail))
        router.add("POST", "/console/tenants/{id}/{action}", operationId: "consoleTenantAction", ConsoleHandlers.guarded(ConsoleTenantPages.act))
        router.add("GET", "/console/webhooks", operationId: "consoleWebhookEndpoints", ConsoleHandlers.guarded(ConsoleWebhookPages.endpoints))
        router.add("GET", "/console/webhooks/{id}", operationId: "consoleWebhookEndpoint", ConsoleHandlers.guarded(ConsoleWebhookPages.endpoint))
        router.add("POST", "/console/webhooks", operationId: "consoleCreateWebhookEndpoint", ConsoleHandlers.guarded(ConsoleWebhookPages.create))
        // The literal actions first: `{verb}` (enable, disable) would match them too.
        router.add("POST", "/console/webhooks/{id}/settings", operationId: "consoleUpdateWebhookEndpoint",
                   ConsoleHandlers.guarded(ConsoleWebhookPages.updateSettings))
        router.add("POST", "/console/webhooks/{id}/test", operationId: "consoleTestWebhookEndpoint", ConsoleHandlers.guarded(ConsoleWebhookPages.sendTest))
        router.add("POST", "/console/webhooks/{id}/recover", operationId: "consoleRecoverWebhookEndpoint",
                   ConsoleHandlers.guarded(ConsoleWebhookPages.recover))
        router.add("POST", "/console/webhooks/{id}/rotate-secret", operationId: "consoleRotateWebhookSecret",
                   ConsoleHandlers.guarded(ConsoleWebhookPages.rotateSecret))
        router.add("POST", "/console/webhooks/{id}/delete", operationId: "consoleDeleteWebhookEndpoint",
                   ConsoleHandlers.guarded(ConsoleWebhookPages.delete))
        router.add("POST", "/console/webhooks/{id}/{verb}", operationId: "consoleWebhookEndpointSetEnabled",
                   ConsoleHandlers.guarded(ConsoleWebhookPages.setEnabled))
        router.add("POST", "/console/webhooks/{id}/messages/{message}/resend", operationId: "consoleWebhookMessageResend",
                   ConsoleHandlers.guarded(ConsoleWebhookPages.resend))
        router.add("GET", "/console/regions", operationId: "consoleRegions", ConsoleHandlers.guarded(ConsoleGovernancePages.regions))
        router.add("GET", "/console/regions/{region}", operationId: "consoleRegion", ConsoleHandlers.guarded(ConsoleGovernancePages.region))
        router.add("POST", "/console/regions/{region}/sync", operationId: "consoleRegionSyncNow", ConsoleHandlers.guarded(ConsoleGovernancePages.syncNow))
        router.add("GET", "/console/nodes", operationId: "consoleNodes", ConsoleHandlers.guarded(ConsoleGovernancePages.nodes))
        router.add("GET", "/console/jobs", operationId: "consoleJobs", ConsoleHandlers.guarded(ConsoleGovernancePages.jobs))
        router.add("GET", "/console/jobs/{region}/{jobId}", operationId: "consoleJob", ConsoleHandlers.guarded(ConsoleGovernancePages.job))
        router.add("GET", "/console/jobs/{region}/{jobId}/payload", operationId: "consoleJobPayload",
                   ConsoleHandlers.guarded(ConsoleGovernancePages.payload))
        router.add("GET", "/console/commands", operationId: "consoleCommands", ConsoleHandlers.guarded(ConsoleGovernancePages.commands))
        router.add("POST", "/console/commands", operationId: "consoleIssueCommand", ConsoleHandlers.guarded(ConsoleGovernancePages.issueCommand))
        router.add("GET", "/console/admin-jobs", operationId: "consoleAdminJobs", ConsoleHandlers.guarded(ConsoleGovernancePages.adminJobs))
        router.add("GET", "/console/rules", operationId: "consoleRules", ConsoleHandlers.guarded(ConsoleGovernancePages.rules))
        router.add("GET", "/console/access", operationId: "consoleAccess", ConsoleHandlers.guarded(ConsoleAccessPages.access))
        router.add("POST", "/console/access/tokens", operationId: "consoleCreateToken", ConsoleHandlers.guarded(ConsoleAccessPages.createToken))
        router.add("POST", "/console/access/tokens/{name}/limits", operationId: "consoleSetTokenLimits",
                   ConsoleHandlers.guarded(ConsoleAccessPages.setLimits))
        router.add("POST", "/console/access/tokens/{name}/revoke", operationId: "consoleRevokeToken",
                   ConsoleHandlers.guarded(ConsoleAccessPages.revokeToken))
        router.add("POST", "/console/access/sessions/{id}/revoke", operationId: "consoleRevokeSession",
                   ConsoleHandlers.guarded(ConsoleAccessPages.revokeSession))
        router.add("GET", "/console/assets/console.css", operationId: "consoleStylesheet", ConsoleHandlers.stylesheet)
        router.add("GET", "/console/assets/favicon.svg", operationId: "consoleFavicon", ConsoleHandlers.favicon)

        router.add("POST", "/v1/trial/email/check", operationId: "checkTrialEmail", EmailCheckHandler.check)
        router.add("POST", "/v1/trial/manual-approval/draft", operationId: "createTrialDraft", DraftHandlers.create)
        router.add("GET", "/v1/trial/manual-approval/{draftId}", operationId: "getTrialDraft", DraftHandlers.get)
        router.add("POST", "/v1/trial/manual-approval/{draftId}/work-email/otp", operationId: "requestWorkEmailCode",
                   DraftHandlers.requestCode)
        router.add("POST", "/v1/trial/manual-approval/{draftId}/work-email/verify", operationId: "verifyWorkEmailCode",
                   DraftHandlers.verifyCode)
        router.add("POST", "/v1/trial/manual-approval/{draftId}/submit-details", operationId: "submitTrialDetails",
                   DraftHandlers.submitDetails)
        router.add("POST", "/v1/trial/manual-approval/{draftId}/sms/otp", operationId: "requestSmsCodeGone", DraftHandlers.smsGone)
        router.add("POST", "/v1/trial/manual-approval/{draftId}/sms/verify", operationId: "verifySmsCodeGone", DraftHandlers.smsGone)
        router.add("POST", "/v1/trial/sms/otp", operationId: "requestTrialSmsGone", DraftHandlers.smsGone)
        router.add("POST", "/v1/trial/sms/verify", operationId: "verifyTrialSmsGone", DraftHandlers.smsGone)

        router.add("GET", "/internal/trial/manual-approvals", operationId: "listManualApprovals", TrialAdminHandlers.listApprovals)
        router.add("POST", "/internal/trial/manual-approvals/{draftId}/approve", operationId: "approveManualApproval",
                   TrialAdminHandlers.approve)
        router.add("POST", "/internal/trial/manual-approvals/{draftId}/reject", operationId: "rejectManualApproval",
                   TrialAdminHandlers.reject)
        router.add("GET", "/internal/trial/signup-attempts", operationId: "listSignupAttempts", TrialAdminHandlers.attempts)
        router.add("GET", "/internal/trial/domains", operationId: "listEmailDomains", TrialAdminHandlers.listDomains)
        router.add("POST", "/internal/trial/domains", operationId: "addEmailDomain", TrialAdminHandlers.addDomain)
        router.add("POST", "/internal/trial/domains/import", operationId: "importEmailDomains", TrialAdminHandlers.importDomains)
        router.add("DELETE", "/internal/trial/domains/{domain}", operationId: "deleteEmailDomain", TrialAdminHandlers.deleteDomain)
    }
}
