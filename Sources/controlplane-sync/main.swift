import ArgumentParser
import ControlPlane
import Foundation
import Postgres
import ServiceLog

/// controlplane-sync: one-shot runs that systemd timers start.
/// Exit status: 0 done (failed deliveries are rescheduled, not errors), 69 not available
/// in this build, 75 the database was unreachable (try again later), 78 configuration.
struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controlplane-sync",
        abstract: "Metered registry sweeps, outbox deliveries and health sweeps (one run per invocation).",
        subcommands: [RegistrySweep.self, Deliver.self, HealthSweep.self])

    struct RegistrySweep: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "registry-sweep", abstract: "Pull job telemetry and nodes from regional registries.")
        @Option(help: "Only this region.") var region: String?
        func run() throws { throw notYetAvailable("registry-sweep") }
    }

    struct Deliver: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver outbox messages: lifecycle webhooks (Standard Webhooks), with retries and a delivery log.")

        @Option(help: "At most this many messages per run.") var max = 1000

        func run() throws {
            let logger = Logger(component: "controlplane-sync")
            let environment = try loadEnvironment()
            let db = try connect(environment)
            let schedule = try environment["CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE"].map { text in
                try text.split(separator: ",").map { part -> Double in
                    guard let seconds = Double(part.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
                        throw ConfigurationError.invalid(key: "CONTROLPLANE_WEBHOOK_RETRY_SCHEDULE", expected: "comma-separated seconds")
                    }
                    return seconds
                }
            } ?? WebhookDeliverer.defaultSchedule
            let deliverer = WebhookDeliverer(
                db: db, http: HTTPClient(), logger: logger, retrySchedule: schedule,
                timeoutSeconds: try environment.double("CONTROLPLANE_WEBHOOK_TIMEOUT_SECONDS", default: 15), maxPerRun: max)
            let summary = try withDatabase { try deliverer.run() }
            logger.info("deliver finished", ["webhooksDelivered": .int(summary.delivered),
                                             "webhooksRescheduled": .int(summary.failed), "webhooksDead": .int(summary.dead)])
        }
    }

    struct HealthSweep: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "health-sweep", abstract: "Mark stale nodes and regions.")
        func run() throws { throw notYetAvailable("health-sweep") }
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
    do { url = try environment.databaseURL(preferring: "CONTROLPLANE_SYNC_DATABASE_URL") } catch { throw fail(78, "\(error)") }
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

func notYetAvailable(_ name: String) -> ExitCode {
    fail(69, "controlplane-sync \(name): not available in this build")
}

Sync.main()
