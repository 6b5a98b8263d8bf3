import ArgumentParser
import ControlPlaneCore
import Foundation

struct Regions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regional preflight registries the sync sweeps: add, list, set, remove.",
        subcommands: [Add.self, List.self, Set.self, Remove.self, Queues.self])

    struct Sync: ParsableArguments {
        @Option(name: .customLong("page-size"), help: "Jobs per registry request (1–1000, default 200).") var pageSize: Int?
        @Option(name: .customLong("rate"), help: "Requests per second to this registry (0 = unmetered, default 5).") var rate: Double?
        @Option(name: .customLong("max-records"), help: "Records per sweep run (default 20000).") var maxRecords: Int?
        @Option(name: .customLong("sweep-budget"), help: "Seconds one run may spend on this region, Retry-After waits included (1–3600, default 120).")
        var sweepBudget: Int?
        @Flag(name: .customLong("dry-run"), inversion: .prefixedNo,
              help: "Rules only record what they would issue in this region (DRY_RUN), issuing nothing.")
        var dryRun: Bool?
    }

    static func check(_ settings: RegionStore.Settings, creating: Bool) throws {
        let allowHTTP = try Environment.load().bool("CONTROLPLANE_REGISTRY_ALLOW_HTTP", default: false)
        if let problem = settings.problems(creating: creating, allowHTTP: allowHTTP).first {
            throw ValidationError("--\(problem.0 == "baseUrl" ? "base-url" : problem.0): \(problem.1)")
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a region.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Region id (a-z, 0-9, -).") var id: String
        @Option(name: .customLong("base-url"), help: "The registry's base URL.") var baseURL: String
        @OptionGroup var sync: Sync

        func run() throws {
            if let problem = RegionStore.idProblem(id) { throw ValidationError("--id \(problem)") }
            let settings = RegionStore.Settings(baseURL: baseURL, pageSize: sync.pageSize, requestsPerSecond: sync.rate,
                                                maxRecordsPerRun: sync.maxRecords, sweepBudgetSeconds: sync.sweepBudget, dryRun: sync.dryRun)
            try Regions.check(settings, creating: true)
            let db = try database.connect()
            printJSON(try reportingProblems {
                try audited(db, action: "region.create", target: "region:\(id)") { db in try RegionStore(db: db).add(id: id, settings: settings).json }
            })
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List regions with their health and sync settings (a table; --json for JSON lines).")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            let regions = try RegionStore(db: try database.connect()).list().items
            if json { return regions.forEach { region in var out = JSONWriter(); region.write(to: &out); printJSON(out.bytes) } }
            printTable(["ID", "HEALTH", "ENABLED", "RATE", "LAST GOOD SWEEP", "REGISTRY"], regions.map {
                [$0.id, $0.health, $0.enabled ? "yes" : "no", "\($0.requestsPerSecond)/s", timeCell($0.lastGoodSweepAt), $0.baseURL]
            })
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a region's registry URL or sync settings, or disable it.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Region id.") var id: String
        @Option(name: .customLong("base-url")) var baseURL: String?
        @OptionGroup var sync: Sync
        @Flag(name: .customLong("sweep"), inversion: .prefixedEnableDisable, help: "Whether the sync sweeps it.") var sweep: Bool?

        func run() throws {
            let settings = RegionStore.Settings(baseURL: baseURL, pageSize: sync.pageSize, requestsPerSecond: sync.rate,
                                                maxRecordsPerRun: sync.maxRecords, enabled: sweep, sweepBudgetSeconds: sync.sweepBudget,
                                                dryRun: sync.dryRun)
            try Regions.check(settings, creating: false)
            let db = try database.connect()
            printJSON(try reportingProblems {
                try audited(db, action: "region.update", target: "region:\(id)") { db in try RegionStore(db: db).update(id: id, settings: settings).json }
            })
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a region that has no synchronized jobs.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Region id.") var id: String
        func run() throws {
            let db = try database.connect()
            try reportingProblems { try audited(db, action: "region.delete", target: "region:\(id)") { db in try RegionStore(db: db).remove(id: id) } }
            print("removed \(id)")
        }
    }

    struct Queues: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A region's queues: desired, acknowledged and reported capacity, and the drift (a table; --json for JSON lines, each as GET /control/v1/regions/{region}/queues has it).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Region id.") var id: String
        @Flag(help: "One JSON object per line.") var json = false
        func run() throws {
            let db = try database.connect()
            try reportingProblems { try RegionStore(db: db).requireExists(id) }
            let entries = try QueueCapacities(db: db).entries(region: id)
            if json { return entries.forEach { entry in var out = JSONWriter(); entry.write(to: &out); printJSON(out.bytes) } }
            printTable(["QUEUE", "DESIRED", "ACKNOWLEDGED", "REPORTED", "DEPTH", "DRIFT"], entries.map {
                [$0.queue, $0.desired.map { String($0.capacity) } ?? "-", $0.acknowledged.map { String($0.capacity) } ?? "-",
                 $0.reported.map { String($0.capacity) } ?? "-", $0.reported.map { String($0.depth) } ?? "-", $0.drift.map(String.init) ?? "-"]
            })
        }
    }
}
