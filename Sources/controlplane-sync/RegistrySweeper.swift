import ControlPlaneCore
import OpenSSLCrypto
import Foundation
import Postgres
import ServiceLog
import Curl

/// One region's metered sweep: page through the registry's jobs from the stored cursor,
/// each page applied with its cursor in one transaction (a killed run resumes without
/// losing or duplicating a record), then its nodes, then the governance rules.
struct RegistrySweeper {
    let db: PostgresConnection
    let configuration: SyncConfiguration
    let logger: Logger
    let notify = SystemdNotify()
    let progress: ProgressClock

    init(db: PostgresConnection, configuration: SyncConfiguration, logger: Logger) {
        self.db = db
        self.configuration = configuration
        self.logger = logger
        progress = ProgressClock(intervalSeconds: configuration.progressSeconds)
    }

    typealias Region = RegionStore.SweepTarget

    enum Result {
        case skipped
        case swept(outcome: GovernanceRules.SweepOutcome, pages: Int, records: Int, revisions: Int, bytes: Int, error: String?)
    }

    func regions(only: String?) throws -> [Region] {
        try RegionStore(db: db).sweepTargets(only: only)
    }

    /// Sweeps a region unless another run (any host) holds its lock. `heartbeat` is called
    /// after every page and before every wait or request that may take long (an admin job
    /// renews its lease there), so the gap between calls is bounded by one request's deadline
    /// or one wait.
    func sweep(_ region: Region, trigger: String, traceId: String? = nil, heartbeat: () -> Void = {}) throws -> Result {
        let lockKey = "controlplane.sweep:" + region.id
        guard try db.tryAdvisoryLock(named: lockKey) else {
            logger.info("region skipped: another sweep holds it", ["region": .string(region.id)])
            return .skipped
        }
        defer { try? db.advisoryUnlock(named: lockKey) }

        let started = Date()
        let runs = SweepRunStore(db: db)
        let run = try runs.start(region: region.id, trigger: trigger)
        // The region's budget for this run, Retry-After waits included: past it, stop cleanly.
        let client = RegistryClient(region: region.id, baseURL: region.baseURL, requestsPerSecond: region.requestsPerSecond,
                                    configuration: configuration, deadline: started.addingTimeInterval(Double(region.sweepBudgetSeconds)),
                                    traceId: traceId)
        var cursor = region.cursor
        var pages = 0, records = 0, revisions = 0, bytes = 0
        var failure: String?
        var superseded = false
        // The next page, requested while PostgreSQL ingests this one: the registry's answer
        // and its parse overlap the database's work instead of following it.
        var prefetched: (query: [String], fetch: Prefetch<HTTPTransfer.Result>)?
        func fetchPage(_ query: [(String, String)], attempt: Int) throws -> HTTPTransfer.Result {
            if let ahead = prefetched {
                prefetched = nil
                let result = ahead.fetch.wait()
                if attempt == 1 && ahead.query == query.map({ $0 + "=" + $1 }) { return try result.get() }
            }
            return try client.send(method: "GET", path: "/v1/registry/jobs", query: query, scope: "registry:jobs:read")
        }

        pageLoop: while records < region.maxRecords {
            let limit = min(region.pageSize, region.maxRecords - records)
            var query = [("limit", String(limit))]
            if let cursor { query.insert(("after", cursor), at: 0) }
            var attempt = 0
            while true {
                attempt += 1
                heartbeat()
                do {
                    let response = try fetchPage(query, attempt: attempt)
                    let body = [UInt8](response.body)
                    let page = try RegistryPage.parse(body)
                    if page.hasMore, let next = page.nextCursor, records + page.items.count < region.maxRecords {
                        let ahead = [("after", next), ("limit", String(min(region.pageSize, region.maxRecords - records - page.items.count)))]
                        prefetched = (ahead.map { $0 + "=" + $1 }, Prefetch { [client] in
                            try client.send(method: "GET", path: "/v1/registry/jobs", query: ahead, scope: "registry:jobs:read")
                        })
                    }
                    guard let applied = try JobStore(db: db).ingest(region: region.id, sweepRun: run, expectedCursor: cursor,
                                                                    nextCursor: page.nextCursor, items: page.items, body: body) else {
                        superseded = true  // another sweeper moved the cursor: its pages stand, this run stops here
                        break pageLoop
                    }
                    pages += 1; records += page.items.count; revisions += applied; bytes += body.count
                    reportProgress(run: run, region: region.id, started: started, totals: (pages, records, revisions, bytes))
                    cursor = page.nextCursor ?? cursor  // none on a last page: the stored one stands
                    guard page.hasMore, page.nextCursor != nil else { break pageLoop }
                    continue pageLoop
                } catch RegistryClient.Failure.budgetSpent {
                    failure = "sweep budget of \(region.sweepBudgetSeconds) s spent"
                    break pageLoop
                } catch let error as RegistryClient.Failure {
                    if case .status(let code, let retryAfter) = error, code == 429 || code == 503, let retryAfter, attempt < configuration.maxAttempts {
                        let wait = min(retryAfter, configuration.maxRetryAfterSeconds)
                        guard wait < client.remainingSeconds else {
                            failure = "sweep budget of \(region.sweepBudgetSeconds) s spent (the registry asked to wait \(Int(retryAfter)) s)"
                            break pageLoop
                        }
                        logger.info("registry asked to wait", ["region": .string(region.id), "status": .int(code), "retryAfter": .double(wait)])
                        heartbeat()
                        Thread.sleep(forTimeInterval: wait)
                        continue
                    }
                    failure = error.description
                } catch let error as RegistryPage.Malformed {
                    failure = "malformed page: \(error.description)"
                }
                guard attempt < configuration.maxAttempts else { break pageLoop }
                let delay = configuration.backoff(attempt: attempt)
                guard delay < client.remainingSeconds else { break pageLoop }
                logger.warning("registry page failed; retrying", ["region": .string(region.id), "attempt": .int(attempt),
                                                                  "error": .string(failure ?? ""), "backoffSeconds": .double(delay)])
                heartbeat()
                Thread.sleep(forTimeInterval: delay)
                failure = nil
            }
        }

        // A page fetched ahead and not used (the run stopped): wait for it before the client is used again.
        _ = prefetched?.fetch.wait()
        prefetched = nil
        if superseded {
            // Nothing is wrong with the registry: no outcome for the region, no rules.
            var totals = SweepRunStore.Totals()
            (totals.pages, totals.records, totals.revisions, totals.bytes) = (pages, records, revisions, bytes)
            try runs.finish(run, totals: totals, durationMs: Int(Date().timeIntervalSince(started) * 1000), outcome: "SUPERSEDED",
                            error: "another sweeper moved the region's cursor; stopped")
            logger.warning("region sweep superseded: another sweeper moved its cursor", ["region": .string(region.id), "pages": .int(pages)])
            return .skipped
        }
        if failure == nil {
            heartbeat()
            do {
                try syncNodes(client: client, region: region.id)
            } catch {
                failure = "nodes: \(error)"
            }
        }
        if failure == nil {
            heartbeat()
            do {
                try syncQueues(client: client, region: region.id)
            } catch {
                failure = "queues: \(error)"
            }
        }
        let outcome: GovernanceRules.SweepOutcome = failure == nil ? .ok : (pages > 0 ? .partial : .failed)
        let durationMs = Int(Date().timeIntervalSince(started) * 1000)
        var totals = SweepRunStore.Totals()
        (totals.pages, totals.records, totals.revisions, totals.bytes) = (pages, records, revisions, bytes)
        try runs.finish(run, totals: totals, durationMs: durationMs, outcome: outcome.rawValue, error: failure)
        try RegionStore(db: db).recordSweep(region.id, outcome: outcome.rawValue)
        let firings = try GovernanceRules(db: db, settings: configuration.rules).evaluate(region: region.id, sweep: outcome, sweepDetail: failure)
        for firing in firings { logger.info("rule fired", ["region": .string(region.id), "rule": .string(firing.rule), "detail": .string(firing.detail)]) }
        logger.info("region swept", ["region": .string(region.id), "outcome": .string(outcome.rawValue), "pages": .int(pages),
                                     "records": .int(records), "revisions": .int(revisions), "bytes": .int(bytes),
                                     "durationMs": .int(durationMs), "error": .string(failure ?? "")])
        return .swept(outcome: outcome, pages: pages, records: records, revisions: revisions, bytes: bytes, error: failure)
    }

    /// After each page the run's row shows how far it got (an operator watching a long backlog
    /// sees it move); about every `progressSeconds` a log line and systemd's STATUS say so too.
    private func reportProgress(run: Int64, region: String, started: Date, totals: (Int, Int, Int, Int)) {
        var sums = SweepRunStore.Totals()
        (sums.pages, sums.records, sums.revisions, sums.bytes) = totals
        try? SweepRunStore(db: db).progress(run, totals: sums)
        guard progress.due() else { return }
        let seconds = Int(Date().timeIntervalSince(started))
        logger.info("sweep progress", ["region": .string(region), "pages": .int(totals.0), "records": .int(totals.1),
                                       "revisions": .int(totals.2), "seconds": .int(seconds)])
        notify.status("registry-sweep: \(region) \(totals.0) pages, \(totals.1) records in \(seconds) s")
    }

    private func syncNodes(client: RegistryClient, region: String) throws {
        let response = try client.send(method: "GET", path: "/v1/registry/nodes", scope: "registry:nodes:read")
        let body = [UInt8](response.body)
        var nodes: [NodeStore.Report] = []
        try JSONScanner.withDocument(body) { scanner, root in
            guard let itemsSpan = try scanner.members(of: root).first(where: { $0.name == "items" })?.value else {
                throw RegistryPage.Malformed(description: "nodes: items is missing")
            }
            for (index, element) in try scanner.elements(of: itemsSpan).enumerated() {
                var fields: [String: String] = [:]
                for (name, value) in try scanner.members(of: element) where value.kind == .string {
                    fields[name] = try scanner.string(at: value)
                }
                guard let id = fields["nodeId"], (1...200).contains(id.utf8.count), let version = fields["containerVersion"],
                      let ready = fields["readiness"], let beat = fields["lastHeartbeatAt"], RFC3339.isValid(beat) else {
                    throw RegistryPage.Malformed(description: "nodes: items[\(index)] is incomplete")
                }
                nodes.append(.init(nodeId: id, containerVersion: version, readiness: ready, lastHeartbeatAt: beat))
            }
        }
        try NodeStore(db: db).upsert(region: region, nodes)
    }

    /// The registry's queues (optional in the contract: a 404 means it has none to report,
    /// and what was stored stays as it was).
    private func syncQueues(client: RegistryClient, region: String) throws {
        let response: HTTPTransfer.Result
        do {
            response = try client.send(method: "GET", path: "/v1/registry/queues", scope: "registry:queues:read")
        } catch RegistryClient.Failure.status(404, _) {
            return
        }
        var reports: [QueueReportStore.Report] = []
        try JSONScanner.withDocument([UInt8](response.body)) { scanner, root in
            guard let itemsSpan = try scanner.members(of: root).first(where: { $0.name == "items" })?.value else {
                throw RegistryPage.Malformed(description: "queues: items is missing")
            }
            var seen = Set<String>()
            for (index, element) in try scanner.elements(of: itemsSpan).enumerated() {
                var queue: String?, capacity: Int?, depth: Int?
                for (name, value) in try scanner.members(of: element) {
                    switch name {
                    case "queue" where value.kind == .string: queue = try scanner.string(at: value)
                    case "capacity" where value.kind == .number: capacity = scanner.literal(at: value).flatMap { Int($0) }
                    case "depth" where value.kind == .number: depth = scanner.literal(at: value).flatMap { Int($0) }
                    default: break
                    }
                }
                guard let queue, (1...200).contains(queue.utf8.count), seen.insert(queue).inserted,
                      let capacity, (0...Int(Int32.max)).contains(capacity), let depth, (0...Int(Int32.max)).contains(depth) else {
                    throw RegistryPage.Malformed(description: "items[\(index)] is incomplete, out of range or repeated")
                }
                reports.append(.init(queue: queue, capacity: capacity, depth: depth))
            }
        }
        try QueueReportStore(db: db).replace(region: region, reports)
    }
}
