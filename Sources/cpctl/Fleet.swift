import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

/// How a list prints: a table for people (the default), one JSON object per line for scripts.
struct ListOptions: ParsableArguments {
    @Flag(help: "One JSON object per line.") var json = false
    @Option(help: "At most this many rows (1–5000, newest or first first).") var limit = 100

    func validate() throws {
        guard (1...5000).contains(limit) else { throw ValidationError("--limit must be from 1 to 5000") }
    }

    func print<Row>(_ rows: [Row], headers: [String], cells: (Row) -> [String], json write: (Row, inout JSONWriter) -> Void) {
        if json {
            for row in rows {
                var out = JSONWriter()
                write(row, &out)
                printJSON(out.bytes)
            }
        } else {
            printTable(headers, rows.map(cells))
        }
    }
}

/// `RFC 3339` to the second, or `-`, for table cells.
func timeCell(_ postgresText: String?) -> String { postgresText.map { RFC3339.seconds(postgresText: $0) } ?? "-" }

struct Nodes: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Worker nodes the registries report, with their effective readiness.",
                                                    subcommands: [List.self, Census.self])

    struct Census: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A region's nodes by container version: how many, how many READY.")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON object per line.") var json = false
        @Argument(help: "The region.") var region: String
        @Option(name: .customLong("stale-seconds"), help: "Heartbeat age past which a node is not READY.") var staleSeconds = 40

        func run() throws {
            let db = try database.connect()
            try reportingProblems { try RegionStore(db: db).requireExists(region) }
            let census = try NodeStore(db: db).versionCensus(region: region, graceSeconds: staleSeconds)
            guard json else {
                return printTable(["VERSION", "NODES", "READY"], census.map { [$0.containerVersion, String($0.nodes), String($0.ready)] })
            }
            for entry in census {
                var out = JSONWriter()
                out.beginObject()
                out.key("containerVersion"); out.string(entry.containerVersion)
                out.key("nodes"); out.int(entry.nodes)
                out.key("ready"); out.int(entry.ready)
                out.endObject()
                printJSON(out.bytes)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List nodes (STALE: no heartbeat within CONTROLPLANE_NODE_STALE_SECONDS).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: ListOptions
        @Option var region: String?
        @Option(help: "Only nodes running this container version.") var version: String?
        @Option(help: "READY, NOT_READY, DRAINING or STALE.") var readiness: String?
        @Option(name: .customLong("stale-seconds"), help: "Heartbeat age past which a node is STALE.") var staleSeconds = 40

        func validate() throws {
            if let readiness, !NodeStore.readinessValues.contains(readiness) {
                throw ValidationError("--readiness must be one of \(NodeStore.readinessValues.joined(separator: ", "))")
            }
        }

        func run() throws {
            let page = try NodeStore(db: try database.connect()).list(.init(region: region, version: version, readiness: readiness),
                                                                       graceSeconds: staleSeconds, after: nil, limit: output.limit)
            output.print(page.items, headers: ["REGION", "NODE", "VERSION", "READINESS", "REPORTED", "LAST HEARTBEAT"], cells: {
                [$0.region, $0.nodeId, $0.containerVersion, $0.readiness, $0.reportedReadiness, timeCell($0.lastHeartbeatAt)]
            }, json: { node, json in node.write(to: &json) })
        }
    }
}

struct Commands: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Governance commands to regional registries: issue (audited) and list.",
                                                    subcommands: [List.self, Issue.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List commands, newest first.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: ListOptions
        @Option var region: String?
        @Option(help: "PENDING, DELIVERED, UNACKNOWLEDGED, ACKNOWLEDGED or FAILED.") var status: String?

        func validate() throws {
            if let status, !GovernanceCommandStore.statuses.contains(status) {
                throw ValidationError("--status must be one of \(GovernanceCommandStore.statuses.joined(separator: ", "))")
            }
        }

        func run() throws {
            let page = try GovernanceCommandStore(db: try database.connect()).list(region: region, status: status, after: nil, limit: output.limit)
            output.print(page.items, headers: ["ID", "REGION", "KIND", "TARGET", "STATUS", "ATTEMPTS", "ISSUED", "BY"], cells: {
                [$0.id, $0.region, $0.kind, $0.target, $0.status, String($0.attempts), timeCell($0.issuedAt), $0.actor]
            }, json: { command, json in command.write(to: &json, events: nil) })
        }
    }

    struct Issue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a command (the same checks as the control API); prints it as JSON.",
            discussion: "Kinds: QUEUE_CAPACITY (--capacity), REIMAGE_NODE, PARTNER_ROUTING (--route-to). A repeated --idempotency-key returns the first command.")
        @OptionGroup var database: DatabaseOptions
        @Option var region: String
        @Option var kind: String
        @Option(help: "The queue, node or route the command is about.") var target: String
        @Option var capacity: Int?
        @Option(name: .customLong("route-to")) var routeTo: String?
        @Option(help: "Why (recorded).") var reason: String
        @Option(name: .customLong("idempotency-key")) var idempotencyKey = UUID().uuidString

        func run() throws {
            let db = try database.connect()
            let request = CommandRequest(region: region, kind: kind, target: target, capacity: capacity, routeTo: routeTo, reason: reason)
            let outcome = try reportingProblems {
                try CommandRequest.issue(try request.validated(actor: operatorActor, idempotencyKey: idempotencyKey), db: db, traceId: nil)
            }
            switch outcome {
            case .created(let json), .existing(let json): printJSON(json)
            }
        }
    }
}

struct AdminJobs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "admin-jobs",
                                                    abstract: "Admin jobs the sync runs (SYNC_REGION, RECOVER_ENVIRONMENT): create (audited) and list.",
                                                    subcommands: [List.self, Create.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List admin jobs, newest first.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: ListOptions
        @Option var region: String?

        func run() throws {
            let page = try AdminJobStore(db: try database.connect()).list(region: region, after: nil, limit: output.limit)
            output.print(page.items, headers: ["ID", "KIND", "REGION", "STATUS", "REQUESTED", "FINISHED", "BY"], cells: {
                [$0.id, $0.kind, $0.region, $0.status, timeCell($0.requestedAt), timeCell($0.finishedAt), $0.requestedBy]
            }, json: { job, json in job.write(to: &json) })
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask the sync for an admin job; prints it as JSON.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "SYNC_REGION or RECOVER_ENVIRONMENT.") var kind: String
        @Option var region: String
        @Option(help: "Why (recorded).") var reason: String

        func validate() throws {
            guard AdminJobStore.kinds.contains(kind) else { throw ValidationError("--kind must be \(AdminJobStore.kinds.joined(separator: " or "))") }
            guard !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.count <= 500 else {
                throw ValidationError("--reason is required (at most 500 characters)")
            }
        }

        func run() throws {
            let job = try reportingProblems {
                try audited(try database.connect(), action: "admin_job.create", target: "region:\(region)", summary: kind) { db in
                    try AdminJobStore(db: db).create(kind: kind, region: region, requestedBy: operatorActor, reason: reason)
                }
            }
            var json = JSONWriter()
            job.write(to: &json)
            printJSON(json.bytes)
        }
    }
}
