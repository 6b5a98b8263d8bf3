import ControlPlane
import Crypto
import Foundation
import Postgres
import ServiceLog

/// One region's metered sweep: page through the registry's jobs from the stored cursor,
/// each page applied with its cursor in one transaction (a killed run resumes without
/// losing or duplicating a record), then its nodes, then the governance rules.
struct RegistrySweeper {
    let db: PostgresConnection
    let configuration: SyncConfiguration
    let http: HTTPClient
    let logger: Logger

    struct Region {
        let id: String, baseURL: String, pageSize: Int, requestsPerSecond: Double, maxRecords: Int, cursor: String?
    }

    enum Result {
        case skipped
        case swept(outcome: GovernanceRules.SweepOutcome, pages: Int, records: Int, revisions: Int, bytes: Int, error: String?)
    }

    func regions(only: String?) throws -> [Region] {
        let rows = try db.query("""
            SELECT id, base_url, page_size, requests_per_second, max_records_per_run, cursor FROM regions
            WHERE enabled AND (\(only)::text IS NULL OR id = \(only)) ORDER BY id
            """)
        return try (0..<rows.count).map { r in
            Region(id: try rows.decode(r, 0), baseURL: try rows.decode(r, 1), pageSize: try rows.decode(r, 2),
                   requestsPerSecond: try rows.decode(r, 3), maxRecords: try rows.decode(r, 4),
                   cursor: try rows.decodeIfPresent(r, 5))
        }
    }

    /// Sweeps a region unless another run (any host) holds its lock.
    func sweep(_ region: Region, trigger: String) throws -> Result {
        let lockKey = "controlplane.sweep:" + region.id
        guard try db.query("SELECT pg_try_advisory_lock(hashtext(\(lockKey)))").decode(0, 0, as: Bool.self) else {
            logger.info("region skipped: another sweep holds it", ["region": .string(region.id)])
            return .skipped
        }
        defer { _ = try? db.query("SELECT pg_advisory_unlock(hashtext(\(lockKey)))") }

        let started = Date()
        let run = try db.query("INSERT INTO sweep_runs (region_id, trigger) VALUES (\(region.id), \(trigger)) RETURNING id")
            .decode(0, 0, as: Int64.self)
        let client = RegistryClient(region: region.id, baseURL: region.baseURL, requestsPerSecond: region.requestsPerSecond,
                                    configuration: configuration, http: http)
        var cursor = region.cursor
        var pages = 0, records = 0, revisions = 0, bytes = 0
        var failure: String?

        pageLoop: while records < region.maxRecords {
            let limit = min(region.pageSize, region.maxRecords - records)
            var query = [("limit", String(limit))]
            if let cursor { query.insert(("after", cursor), at: 0) }
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let response = try client.send(method: "GET", path: "/v1/registry/jobs", query: query, scope: "registry:jobs:read")
                    let body = [UInt8](response.body)
                    let page = try RegistryPage.parse(body)
                    let applied = try apply(page, body: body, region: region.id, run: run)
                    pages += 1; records += page.items.count; revisions += applied; bytes += body.count
                    guard page.hasMore, let next = page.nextCursor else { break pageLoop }
                    cursor = next
                    continue pageLoop
                } catch let error as RegistryClient.Failure {
                    if case .status(let code, let retryAfter) = error, code == 429 || code == 503, let retryAfter, attempt < configuration.maxAttempts {
                        let wait = min(retryAfter, configuration.maxRetryAfterSeconds)
                        logger.info("registry asked to wait", ["region": .string(region.id), "status": .int(code), "retryAfter": .double(wait)])
                        Thread.sleep(forTimeInterval: wait)
                        continue
                    }
                    failure = error.description
                } catch let error as RegistryPage.Malformed {
                    failure = "malformed page: \(error.description)"
                }
                guard attempt < configuration.maxAttempts else { break pageLoop }
                let delay = configuration.backoff(attempt: attempt)
                logger.warning("registry page failed; retrying", ["region": .string(region.id), "attempt": .int(attempt),
                                                                  "error": .string(failure ?? ""), "backoffSeconds": .double(delay)])
                Thread.sleep(forTimeInterval: delay)
                failure = nil
            }
        }

        if failure == nil {
            do {
                try syncNodes(client: client, region: region.id)
            } catch {
                failure = "nodes: \(error)"
            }
        }
        let outcome: GovernanceRules.SweepOutcome = failure == nil ? .ok : (pages > 0 ? .partial : .failed)
        let durationMs = Int(Date().timeIntervalSince(started) * 1000)
        try db.query("""
            UPDATE sweep_runs SET finished_at = now(), pages = \(pages), records = \(records), revisions = \(revisions),
                   bytes = \(bytes), duration_ms = \(durationMs), outcome = \(outcome.rawValue), error = \(failure)
            WHERE id = \(run)
            """)
        try db.query("""
            UPDATE regions SET last_sweep_at = now(), last_sweep_outcome = \(outcome.rawValue),
                   last_good_sweep_at = CASE WHEN \(outcome.rawValue) = 'OK' THEN now() ELSE last_good_sweep_at END
            WHERE id = \(region.id)
            """)
        let firings = try GovernanceRules(db: db, settings: configuration.rules).evaluate(region: region.id, sweep: outcome, sweepDetail: failure)
        for firing in firings { logger.info("rule fired", ["region": .string(region.id), "rule": .string(firing.rule), "detail": .string(firing.detail)]) }
        logger.info("region swept", ["region": .string(region.id), "outcome": .string(outcome.rawValue), "pages": .int(pages),
                                     "records": .int(records), "revisions": .int(revisions), "bytes": .int(bytes),
                                     "durationMs": .int(durationMs), "error": .string(failure ?? "")])
        return .swept(outcome: outcome, pages: pages, records: records, revisions: revisions, bytes: bytes, error: failure)
    }

    /// One round trip: every item of the page and the next cursor, in one transaction.
    private func apply(_ page: RegistryPage, body: [UInt8], region: String, run: Int64) throws -> Int {
        var blob = [UInt8]()
        blob.reserveCapacity(page.items.reduce(0) { $0 + $1.payload.count })
        var offsets: [Int] = [], lengths: [Int] = [], hashes: [String?] = []
        for item in page.items {
            offsets.append(blob.count)
            lengths.append(item.payload.count)
            let payload = body[item.payload]
            blob.append(contentsOf: payload)
            hashes.append(Hex.encode(SHA256.hash(payload)))
        }
        let ids = PostgresBind(textArray: page.items.map(\.jobId))
        let statuses = PostgresBind(textArray: page.items.map(\.status))
        let updated = PostgresBind(textArray: page.items.map(\.updatedAt))
        let nodes = PostgresBind(textArray: page.items.map(\.nodeId))
        let rows = try db.transaction { db in
            try db.query("""
                SELECT revisions FROM ingest_registry_page(\(region), \(run), \(page.nextCursor ?? ""),
                    \(bind: ids)::text[], \(bind: statuses)::text[], \(bind: updated)::text[], \(bind: nodes)::text[],
                    \(blob), \(bind: PostgresBind(intArray: offsets))::int[], \(bind: PostgresBind(intArray: lengths))::int[],
                    \(bind: PostgresBind(textArray: hashes))::text[])
                """)
        }
        return try rows.decode(0, 0, as: Int.self)
    }

    private func syncNodes(client: RegistryClient, region: String) throws {
        let response = try client.send(method: "GET", path: "/v1/registry/nodes", scope: "registry:nodes:read")
        let body = [UInt8](response.body)
        var ids: [String?] = [], versions: [String?] = [], readiness: [String?] = [], heartbeats: [String?] = []
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
                ids.append(id); versions.append(version); readiness.append(ready); heartbeats.append(beat)
            }
        }
        try db.query("""
            INSERT INTO nodes AS n (region_id, node_id, container_version, readiness, last_heartbeat_at)
            SELECT \(region), id, version, ready, beat::timestamptz
            FROM unnest(\(bind: PostgresBind(textArray: ids))::text[], \(bind: PostgresBind(textArray: versions))::text[],
                        \(bind: PostgresBind(textArray: readiness))::text[], \(bind: PostgresBind(textArray: heartbeats))::text[])
                 AS t(id, version, ready, beat)
            ON CONFLICT (region_id, node_id) DO UPDATE
               SET container_version = EXCLUDED.container_version, readiness = EXCLUDED.readiness,
                   last_heartbeat_at = EXCLUDED.last_heartbeat_at, updated_at = now(),
                   stale_since = CASE WHEN EXCLUDED.last_heartbeat_at > n.last_heartbeat_at THEN NULL ELSE n.stale_since END
            """)
    }
}
