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
            abstract: "Deliver outbox messages: lifecycle webhooks (Standard Webhooks), with retries and a delivery log.")

        @Option(help: "At most this many messages per run.") var max = 1000
        @Option(help: "Workers per outbox (governance commands, webhooks), each with its own database connection; a destination (region, endpoint) is called by one worker at a time.")
        var workers = 4

        func run() throws {
            let logger = Logger(component: "controlplane-sync")
            let environment = try loadEnvironment()
            let db = try connect(environment)
            let schedule = try environment["CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE"].map { text in
                RetrySchedule(delays: try text.split(separator: ",").map { part -> Double in
                    guard let seconds = Double(part.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
                        throw ConfigurationError.invalid(key: "CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE", expected: "comma-separated seconds")
                    }
                    return seconds
                })
            } ?? RetrySchedule.webhooks
            guard (1...64).contains(workers) else { throw fail(64, "--workers must be from 1 to 64") }
            let timeout = try environment.double("CONTROLPLANE_WEBHOOK_TIMEOUT_SECONDS", default: 15)
            let secretKeys: SecretKeyRing?, destinations: WebhookDestinationPolicy
            do {
                secretKeys = try SecretKeyRing.load(environment)
                destinations = try WebhookDestinationPolicy(environment: environment)
            } catch { throw fail(78, "\(error)") }
            let configuration = try syncConfiguration(environment)
            let sweeper = RegistrySweeper(db: db, configuration: configuration, logger: logger)
            try withDatabase {
                let jobs = try AdminJobRunner(db: db, sweeper: sweeper, configuration: configuration, logger: logger).run(max: 20)
                let commandRun = DeliveryRun(maxMessages: max), webhookRun = DeliveryRun(maxMessages: max)
                let commands = configuration.signingKeys.isEmpty ? DeliverySummary()
                    : try commandRun.deliver(workers: workers, connect: { try connect(environment) }) { db in
                        try CommandDeliverer(db: db, configuration: configuration, logger: logger, shared: commandRun).run()
                    }
                let webhooks = try webhookRun.deliver(workers: workers, connect: { try connect(environment) }) { db in
                    try WebhookDeliverer(db: db, logger: logger, retrySchedule: schedule, timeoutSeconds: timeout,
                                         secretKeys: secretKeys, destinations: destinations, shared: webhookRun).run()
                }
                var emails = DeliverySummary()
                if let mailer = try emailDeliverer(environment, db: db, logger: logger) { emails = try mailer.run(max: max) }
                logger.info("deliver finished", ["adminJobs": .int(jobs), "commandsDelivered": .int(commands.delivered),
                                                 "commandsRescheduled": .int(commands.rescheduled), "commandsFailed": .int(commands.gaveUp),
                                                 "webhooksDelivered": .int(webhooks.delivered),
                                                 "webhooksRescheduled": .int(webhooks.rescheduled), "webhooksDead": .int(webhooks.gaveUp),
                                                 "emailsSent": .int(emails.delivered), "emailsRescheduled": .int(emails.rescheduled),
                                                 "emailsDead": .int(emails.gaveUp), "emailsSuperseded": .int(emails.superseded)])
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
            let retention = try TrialSettings(environment: environment).attemptRetentionDays
            let purged = try withDatabase { try SignupAttemptStore(db: db).purge(olderThanDays: retention) }
            logger.info("health sweep finished", ["staleNodesMarked": .int(result.staleNodes), "staleRegions": .int(result.staleRegions),
                                                  "signupAttemptsPurged": .int(purged), "adminJobsRunnerLost": .int(stuck.lostRunners),
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

func fail(_ code: Int32, _ message: String) -> ExitCode {
    Logger(component: "controlplane-sync").error(message)
    return ExitCode(code)
}

/// The SMTP deliverer, when CONTROLPLANE_SMTP_URL is set (else email rows wait).
func emailDeliverer(_ environment: Environment, db: PostgresConnection, logger: Logger) throws -> EmailDeliverer? {
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
        return EmailDeliverer(db: db, smtp: smtp, from: environment.string("CONTROLPLANE_MAIL_FROM", default: "no-reply@localhost"),
                              hashKey: Array(key.utf8), trial: try TrialSettings(environment: environment), logger: logger)
    } catch let error as ConfigurationError {
        throw fail(78, "\(error)")
    }
}

func syncConfiguration(_ environment: Environment) throws -> SyncConfiguration {
    do { return try SyncConfiguration(environment) } catch let error as ConfigurationError { throw fail(78, "\(error)") }
}

Sync.main()
