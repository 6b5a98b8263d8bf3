import ArgumentParser
import ControlPlaneCore
import Foundation
import Curl
import Postgres
import ServiceLog

/// controlplane-sync: one-shot runs that systemd timers start.
/// Exit status: 0 done (failed deliveries are rescheduled, not errors); 2 registry-sweep
/// left a region PARTIAL or FAILED (its health says which); 75 the database was
/// unreachable (the next run retries); 78 a configuration mistake.
struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controlplane-sync",
        abstract: "Metered registry sweeps, outbox deliveries and health sweeps (one run per invocation).",
        subcommands: [RegistrySweep.self, Deliver.self, HealthSweep.self])

    struct RegistrySweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registry-sweep",
            abstract: "Pull job telemetry and nodes from regional registries, metered, then apply the governance rules.")
        @Option(help: "Only this region.") var region: String?
        @Option(help: "Regions swept at once, each by its own worker and database connection (1–32): a stuck registry holds one worker, never the others' regions.")
        var parallel = 4

        func run() throws {
            let logger = Logger(component: "controlplane-sync")
            let environment = try loadEnvironment()
            let configuration = try syncConfiguration(environment)
            do { _ = try configuration.signer() } catch { throw fail(78, "\(error)") }
            guard (1...32).contains(parallel) else { throw fail(64, "--parallel must be from 1 to 32") }
            let db = try connect(environment)
            let regions = try withDatabase { try RegistrySweeper(db: db, configuration: configuration, logger: logger).regions(only: region) }
            if let region, regions.isEmpty { throw fail(78, "no enabled region \(region)") }
            let queue = RegionQueue(regions)
            let degraded = try withDatabase {
                try runWorkers(min(parallel, max(1, regions.count)), connect: { try connect(environment) }) { db in
                    let sweeper = RegistrySweeper(db: db, configuration: configuration, logger: logger)
                    var degraded = 0
                    while let next = queue.next() {
                        if case .swept(let outcome, _, _, _, _, _) = try sweeper.sweep(next, trigger: "timer"), outcome != .ok { degraded += 1 }
                    }
                    return degraded
                }.reduce(0, +)
            }
            if degraded > 0 { throw ExitCode(2) }
        }
    }

    struct Deliver: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver the outboxes — admin jobs, governance commands, webhooks, emails — each by its own workers, at once.")

        @Option(help: "At most this many messages per outbox and run.") var max = 1000
        @Option(help: "Workers for governance commands and for webhooks, each with its own database connection; a destination (region, endpoint) is called by one worker at a time on any host.")
        var workers = 4
        @Option(help: "Workers for one-time-code emails.") var emailWorkers = 2
        @Option(help: "Workers for admin jobs.") var adminJobWorkers = 1
        @Option(help: "Only these outboxes (admin-jobs, commands, webhooks, emails; comma-separated), e.g. for a timer of their own.")
        var outbox = Outbox.allCases.map(\.rawValue).joined(separator: ",")

        enum Outbox: String, CaseIterable { case adminJobs = "admin-jobs", commands, webhooks, emails }

        func run() throws {
            let logger = Logger(component: "controlplane-sync")
            let environment = try loadEnvironment()
            let schedule = try environment["CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE"].map { text in
                RetrySchedule(delays: try text.split(separator: ",").map { part -> Double in
                    guard let seconds = Double(part.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
                        throw ConfigurationError.invalid(key: "CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE", expected: "comma-separated seconds")
                    }
                    return seconds
                })
            } ?? RetrySchedule.webhooks
            for (name, value) in [("--workers", workers), ("--email-workers", emailWorkers), ("--admin-job-workers", adminJobWorkers)] {
                guard (1...64).contains(value) else { throw fail(64, "\(name) must be from 1 to 64") }
            }
            var selected = Set<Outbox>()
            for name in outbox.split(separator: ",") {
                guard let one = Outbox(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw fail(64, "--outbox takes admin-jobs, commands, webhooks, emails; not \(name)")
                }
                selected.insert(one)
            }
            let timeout = try environment.double("CONTROLPLANE_WEBHOOK_TIMEOUT_SECONDS", default: 15)
            let maxPending = try environment.int("CONTROLPLANE_WEBHOOK_MAX_PENDING_PER_ENDPOINT", default: 10_000, range: 1...10_000_000)
            let disableAfter = Double(try environment.int("CONTROLPLANE_WEBHOOK_DISABLE_AFTER_SECONDS", default: 5 * 86_400, range: 60...365 * 86_400))
            let secretOverlap = Double(try environment.int("CONTROLPLANE_WEBHOOK_SECRET_OVERLAP_SECONDS", default: 86_400, range: 0...30 * 86_400))
            let secretKeys: SecretKeyRing?, destinations: WebhookDestinationPolicy
            let deadlines: [Outbox: Double]
            let caFile = environment["CONTROLPLANE_WEBHOOK_CA_FILE"]
            do {
                secretKeys = try SecretKeyRing.load(environment)
                destinations = try WebhookDestinationPolicy(environment: environment)
                if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
                    throw ConfigurationError.invalid(key: "CONTROLPLANE_WEBHOOK_CA_FILE", expected: "a readable PEM bundle")
                }
                deadlines = try Dictionary(uniqueKeysWithValues: Outbox.allCases.map { outbox in
                    let key = "CONTROLPLANE_DELIVER_" + outbox.rawValue.uppercased().replacingOccurrences(of: "-", with: "_") + "_SECONDS"
                    let seconds = try environment.double(key, default: 45)
                    guard (1...3600).contains(seconds) else { throw ConfigurationError.invalid(key: key, expected: "seconds from 1 to 3600") }
                    return (outbox, seconds)
                })
            } catch { throw fail(78, "\(error)") }
            let configuration = try syncConfiguration(environment)
            let mailer = try emailDeliverer(environment, logger: logger)
            if configuration.signingKeys.isEmpty { selected.remove(.commands) }  // nothing can be signed: commands wait
            if mailer == nil { selected.remove(.emails) }  // no SMTP server configured: emails wait

            // Each outbox drains on its own workers against its own deadline: a receiver that
            // drips bytes costs webhook workers, never a code email or a region's command.
            var runs: [Outbox: DeliveryRun] = [:]
            var bodies: [@Sendable (PostgresConnection) throws -> DeliverySummary] = []
            var owners: [Outbox] = []
            for outbox in Outbox.allCases where selected.contains(outbox) {
                let count = switch outbox { case .adminJobs: adminJobWorkers; case .emails: emailWorkers; default: workers }
                let run = DeliveryRun(outbox: outbox.rawValue, workers: count, maxMessages: max, seconds: deadlines[outbox]!)
                runs[outbox] = run
                let body: @Sendable (PostgresConnection) throws -> DeliverySummary = switch outbox {
                case .adminJobs: { db in
                    try AdminJobRunner(db: db, sweeper: RegistrySweeper(db: db, configuration: configuration, logger: logger),
                                       configuration: configuration, logger: logger).run(run)
                }
                case .commands: { db in try CommandDeliverer(db: db, configuration: configuration, logger: logger, shared: run).run() }
                case .webhooks: { db in
                    try WebhookDeliverer(db: db, logger: logger, retrySchedule: schedule, timeoutSeconds: timeout,
                                         secretKeys: secretKeys, destinations: destinations, caFile: caFile, shared: run,
                                         maxPendingPerEndpoint: maxPending, disableAfterSeconds: disableAfter,
                                         secretOverlapSeconds: secretOverlap).run()
                }
                case .emails: { db in try mailer!(db, run).run() }
                }
                bodies += Array(repeating: body, count: count)
                owners += Array(repeating: outbox, count: count)
            }
            let results = try withDatabase { try runConcurrently(bodies, connect: { try connect(environment) }) }
            var totals: [Outbox: DeliverySummary] = [:]
            for (outbox, summary) in zip(owners, results) { totals[outbox] = (totals[outbox] ?? DeliverySummary()) + summary }
            for outbox in Outbox.allCases {
                guard let summary = totals[outbox], let run = runs[outbox] else { continue }
                logger.info("outbox drained", ["outbox": .string(outbox.rawValue), "workers": .int(run.workers),
                                               "delivered": .int(summary.delivered), "rescheduled": .int(summary.rescheduled),
                                               "gaveUp": .int(summary.gaveUp), "superseded": .int(summary.superseded)])
            }
        }
    }

    struct HealthSweep: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "health-sweep", abstract: "Mark stale nodes and regions whose last good sweep is too old.")

        func run() throws {
            let logger = Logger(component: "controlplane-sync")
            let environment = try loadEnvironment()
            let db = try connect(environment)
            let sweeper = HealthSweeper(db: db, configuration: try syncConfiguration(environment), logger: logger)
            let result = try withDatabase { try sweeper.run() }
            let stuck = try withDatabase { try sweeper.releaseStuckWork() }
            let trial = try TrialSettings(environment: environment)
            let purged = try withDatabase { try SignupAttemptStore(db: db).purge(olderThanDays: trial.attemptRetentionDays) }
            let drafts = try withDatabase { try TrialRetention(db: db).purge(olderThanDays: trial.draftRetentionDays) }
            let counters = try withDatabase { try TrialRateCounterStore(db: db).purgeEnded() }
            logger.info("health sweep finished", ["staleNodesMarked": .int(result.staleNodes), "staleRegions": .int(result.staleRegions),
                                                  "signupAttemptsPurged": .int(purged), "draftsPurged": .int(drafts.drafts),
                                                  "draftEmailsPurged": .int(drafts.emails), "decidedDraftCodesCleared": .int(drafts.codesCleared),
                                                  "rateCountersPurged": .int(counters),
                                                  "adminJobsRunnerLost": .int(stuck.lostRunners),
                                                  "commandsUnacknowledged": .int(stuck.unacknowledged),
                                                  "tenantProvisioningTimeouts": .int(stuck.provisioningTimeouts)])
        }
    }
}

func loadEnvironment() throws -> Environment {
    do { return try Environment.load() } catch { throw fail(78, "\(error)") }
}

func connect(_ environment: Environment) throws -> PostgresConnection {
    var options = PostgresConnection.Options()
    options.applicationName = "controlplane-sync"
    options.statementTimeoutMilliseconds = 60_000
    let url: String
    do {
        // A webhook is sent inside the transaction that claimed it: the session may idle for
        // as long as one delivery takes, and the server ends it only well after that.
        let webhookTimeout = try environment.double("CONTROLPLANE_WEBHOOK_TIMEOUT_SECONDS", default: 15)
        options.idleInTransactionTimeoutMilliseconds = max(60_000, Int(min(webhookTimeout, 86_400) * 1000) + 30_000)
        url = try environment.databaseURL(preferring: "CONTROLPLANE_SYNC_DATABASE_URL")
        // The systemd credential `controlplane-sync-database-password` (or …_FILE).
        options.password = try environment.secret("CONTROLPLANE_SYNC_DATABASE_PASSWORD")
    } catch { throw fail(78, "\(error)") }
    let db = PostgresConnection(conninfo: url, options: options)
    try withDatabase { try db.ensureConnected() }
    return db
}

/// A lost database ends the run with EX_TEMPFAIL: the timer's next run picks up the work.
func withDatabase<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as PostgresError where error.kind == .connectionUnavailable {
        throw fail(75, "database unreachable: \(error)")
    }
}

/// Ends the run with `code`: the reason is a field of one "run failed" line (log messages are
/// fixed text; what varies goes in fields).
func fail(_ code: Int32, _ reason: String) -> ExitCode {
    Logger(component: "controlplane-sync").error("run failed", ["reason": .string(reason), "exitCode": .int(Int(code))])
    return ExitCode(code)
}

/// Makes an email deliverer for a worker's connection and run, when CONTROLPLANE_SMTP_URL is
/// set (else email rows wait).
func emailDeliverer(_ environment: Environment, logger: Logger) throws -> (@Sendable (PostgresConnection, DeliveryRun) -> EmailDeliverer)? {
    guard let url = environment["CONTROLPLANE_SMTP_URL"] else { return nil }
    do {
        guard let tls = SMTPClient.TLS(rawValue: environment.string("CONTROLPLANE_SMTP_TLS", default: "required")) else {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_SMTP_TLS", expected: "required, opportunistic or off")
        }
        guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://") else {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_SMTP_URL", expected: "smtp://host:port or smtps://host:port")
        }
        guard let key = try environment.secret("CONTROLPLANE_HASH_KEY") else { throw ConfigurationError.missing("CONTROLPLANE_HASH_KEY") }
        let smtp = SMTPClient(settings: .init(url: url, tls: tls, username: environment["CONTROLPLANE_SMTP_USERNAME"],
                                              password: try environment.secret("CONTROLPLANE_SMTP_PASSWORD"),
                                              timeoutSeconds: try environment.int("CONTROLPLANE_SMTP_TIMEOUT_SECONDS", default: 30, range: 1...300),
                                              caFile: environment["CONTROLPLANE_SMTP_CA_FILE"]))
        let from = environment.string("CONTROLPLANE_MAIL_FROM", default: "no-reply@localhost")
        let trial = try TrialSettings(environment: environment)
        return { db, run in
            EmailDeliverer(db: db, smtp: smtp, from: from, hashKey: Array(key.utf8), trial: trial, logger: logger, shared: run)
        }
    } catch let error as ConfigurationError {
        throw fail(78, "\(error)")
    }
}

func syncConfiguration(_ environment: Environment) throws -> SyncConfiguration {
    do { return try SyncConfiguration(environment) } catch let error as ConfigurationError { throw fail(78, "\(error)") }
}

JSONLogHandler.bootstrap()
Sync.main()
