import Foundation
import Postgres

/// Regions (one regional preflight registry each) and their sync settings; shared by the
/// control API and cpctl.
public struct RegionStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public struct Settings: Sendable {
        public var baseURL: String?
        public var pageSize: Int?
        public var requestsPerSecond: Double?
        public var maxRecordsPerRun: Int?
        public var enabled: Bool?
        /// Seconds one run may spend on this region, Retry-After waits included.
        public var sweepBudgetSeconds: Int?
        public var dryRun: Bool?
        public init(baseURL: String? = nil, pageSize: Int? = nil, requestsPerSecond: Double? = nil,
                    maxRecordsPerRun: Int? = nil, enabled: Bool? = nil, sweepBudgetSeconds: Int? = nil, dryRun: Bool? = nil) {
            self.baseURL = baseURL; self.pageSize = pageSize; self.requestsPerSecond = requestsPerSecond
            self.maxRecordsPerRun = maxRecordsPerRun; self.enabled = enabled; self.sweepBudgetSeconds = sweepBudgetSeconds
            self.dryRun = dryRun
        }

        /// Field complaints, named as in the API. `allowHTTP` is the development setting
        /// `CONTROLPLANE_REGISTRY_ALLOW_HTTP`: otherwise http is for a loopback registry only.
        public func problems(creating: Bool, allowHTTP: Bool = false) -> [(String, String)] {
            var out: [(String, String)] = []
            if let url = baseURL {
                if let c = URLComponents(string: url), ["http", "https"].contains(c.scheme?.lowercased() ?? ""),
                   let host = c.host, !host.isEmpty, c.user == nil, c.query == nil, c.fragment == nil, url.utf8.count <= 500 {
                    if !RegionStore.transportAllowed(url, allowHTTP: allowHTTP) {
                        out.append(("baseUrl", "must be https: the PREFLIGHT_JWT never travels in clear (http only to a loopback registry, or with CONTROLPLANE_REGISTRY_ALLOW_HTTP in development)"))
                    }
                } else { out.append(("baseUrl", "must be an http(s) URL without credentials, query or fragment")) }
            } else if creating {
                out.append(("baseUrl", "is required"))
            }
            if let n = pageSize, !(1...1000).contains(n) { out.append(("pageSize", "must be 1 to 1000")) }
            if let r = requestsPerSecond, !(r >= 0 && r <= 1000) { out.append(("requestsPerSecond", "must be 0 (unmetered) to 1000")) }
            if let n = maxRecordsPerRun, !(1...10_000_000).contains(n) { out.append(("maxRecordsPerRun", "must be 1 to 10000000")) }
            if let n = sweepBudgetSeconds, !(1...3600).contains(n) { out.append(("sweepBudgetSeconds", "must be 1 to 3600")) }
            return out
        }
    }

    /// https, or http to a registry on this host (loopback), or http anywhere when allowed.
    public static func transportAllowed(_ url: String, allowHTTP: Bool) -> Bool {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else { return false }
        if scheme == "https" || allowHTTP { return true }
        guard scheme == "http", var host = components.host?.lowercased() else { return false }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host == "localhost" || IPAddress(host)?.kind == .loopback
    }

    public static func idProblem(_ id: String) -> String? {
        let b = Array(id.utf8)
        guard (1...63).contains(b.count), b.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }),
              b.first != 45 else { return "must be 1 to 63 of a-z, 0-9 and -" }
        return nil
    }

    public enum Failure: Error, ProblemConvertible {
        case notFound, exists, hasJobs
        public var problem: Problem {
            switch self {
            case .notFound: .notFound("No such region.")
            case .exists: .conflict("A region with this id exists.", type: .regionExists)
            case .hasJobs:
                .conflict("The region has synchronized jobs, whose history is kept; disable it instead (enabled: false).",
                          type: .regionHasJobs)
            }
        }
    }

    /// A region as the control API shows it.
    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = """
            id, base_url, enabled, page_size, requests_per_second, max_records_per_run, health, health_reason,
            health_changed_at, partner_routing_to, last_sweep_at, last_sweep_outcome, last_good_sweep_at,
            cursor IS NOT NULL, sweep_budget_seconds, dry_run
            """
        public let id: String, baseURL: String, enabled: Bool, pageSize: Int, requestsPerSecond: Double, maxRecordsPerRun: Int
        public let sweepBudgetSeconds: Int, dryRun: Bool
        public let health: String, healthReason: String?, healthChangedAt: String, partnerRoutingTo: String?
        public let lastSweepAt: String?, lastSweepOutcome: String?, lastGoodSweepAt: String?, hasCursor: Bool
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); baseURL = try row.next(); enabled = try row.next(); pageSize = try row.next()
            requestsPerSecond = try row.next(); maxRecordsPerRun = try row.next(); health = try row.next()
            healthReason = try row.next(); healthChangedAt = try row.next(); partnerRoutingTo = try row.next()
            lastSweepAt = try row.next(); lastSweepOutcome = try row.next(); lastGoodSweepAt = try row.next()
            hasCursor = try row.next(); sweepBudgetSeconds = try row.next(); dryRun = try row.next()
        }

        public func write(to json: inout JSONWriter) {
            json.beginObject()
            json.key("id"); json.string(id)
            json.key("baseUrl"); json.string(baseURL)
            json.key("enabled"); json.bool(enabled)
            json.key("pageSize"); json.int(pageSize)
            json.key("requestsPerSecond"); json.raw(Array(String(requestsPerSecond).utf8))
            json.key("maxRecordsPerRun"); json.int(maxRecordsPerRun)
            json.key("health"); json.string(health)
            json.key("healthReason"); json.string(healthReason)
            json.key("healthChangedAt"); json.timestamp(healthChangedAt)
            json.key("partnerRoutingTo"); json.string(partnerRoutingTo)
            json.key("lastSweepAt"); json.timestamp(lastSweepAt)
            json.key("lastSweepOutcome"); json.string(lastSweepOutcome)
            json.key("lastGoodSweepAt"); json.timestamp(lastGoodSweepAt)
            json.key("hasCursor"); json.bool(hasCursor)
            json.key("sweepBudgetSeconds"); json.int(sweepBudgetSeconds)
            json.key("dryRun"); json.bool(dryRun)
            json.endObject()
        }

        public var json: [UInt8] {
            var json = JSONWriter()
            write(to: &json)
            return json.bytes
        }
    }

    public func add(id: String, settings: Settings) throws -> Row {
        do {
            return try db.query("""
                INSERT INTO regions (id, base_url, page_size, requests_per_second, max_records_per_run, enabled, sweep_budget_seconds, dry_run)
                VALUES (\(id), \(settings.baseURL ?? ""), \(settings.pageSize ?? 200), \(settings.requestsPerSecond ?? 5),
                        \(settings.maxRecordsPerRun ?? 20000), \(settings.enabled ?? true), \(settings.sweepBudgetSeconds ?? 120),
                        \(settings.dryRun ?? false))
                RETURNING \(columns: Row.self)
                """).first(Row.self)!
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw Failure.exists
        }
    }

    public func update(id: String, settings: Settings) throws -> Row {
        let rows = try db.query("""
            UPDATE regions SET base_url = COALESCE(\(settings.baseURL), base_url),
                   page_size = COALESCE(\(settings.pageSize), page_size),
                   requests_per_second = COALESCE(\(settings.requestsPerSecond), requests_per_second),
                   max_records_per_run = COALESCE(\(settings.maxRecordsPerRun), max_records_per_run),
                   enabled = COALESCE(\(settings.enabled), enabled),
                   sweep_budget_seconds = COALESCE(\(settings.sweepBudgetSeconds), sweep_budget_seconds),
                   dry_run = COALESCE(\(settings.dryRun), dry_run), updated_at = now()
            WHERE id = \(id)
            RETURNING \(columns: Row.self)
            """)
        guard let row = try rows.first(Row.self) else { throw Failure.notFound }
        return row
    }

    /// Only a region without synchronized jobs can be removed (their history stays); disable it instead.
    public func remove(id: String) throws {
        do {
            let rows = try db.query("DELETE FROM regions WHERE id = \(id)")
            guard rows.affectedRows == 1 else { throw Failure.notFound }
        } catch let error as PostgresError where error.kind == .foreignKeyViolation {
            throw Failure.hasJobs
        }
    }

    /// In id order; the cursor is the last id.
    public func list(after cursor: PageCursor? = nil, limit: Int = 1000) throws -> Page<[Row]> {
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM regions WHERE id > \(cursor?.parts[0] ?? "") ORDER BY id LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.id) }
    }

    public func get(id: String) throws -> Row {
        guard let row = try db.query("SELECT \(columns: Row.self) FROM regions WHERE id = \(id)", retryOnConnectionLoss: true)
            .first(Row.self) else { throw Failure.notFound }
        return row
    }

    public func requireExists(_ id: String) throws {
        guard try db.query("SELECT 1 FROM regions WHERE id = \(id)", retryOnConnectionLoss: true).count == 1 else {
            throw Failure.notFound
        }
    }

    // MARK: the sync's view

    /// What a sweep needs of a region.
    public struct SweepTarget: PostgresRowDecodable, Sendable {
        public static let columns = "id, base_url, page_size, requests_per_second, max_records_per_run, cursor, sweep_budget_seconds"
        public let id: String, baseURL: String, pageSize: Int, requestsPerSecond: Double, maxRecords: Int, cursor: String?
        public let sweepBudgetSeconds: Int
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); baseURL = try row.next(); pageSize = try row.next()
            requestsPerSecond = try row.next(); maxRecords = try row.next(); cursor = try row.next()
            sweepBudgetSeconds = try row.next()
        }
    }

    /// Enabled regions (or the one named), in id order.
    public func sweepTargets(only: String?) throws -> [SweepTarget] {
        try db.query("""
            SELECT \(columns: SweepTarget.self) FROM regions WHERE enabled AND (\(only)::text IS NULL OR id = \(only)) ORDER BY id
            """).decode(SweepTarget.self)
    }

    public func recordSweep(_ id: String, outcome: String) throws {
        try db.query("""
            UPDATE regions SET last_sweep_at = now(), last_sweep_outcome = \(outcome),
                   last_good_sweep_at = CASE WHEN \(outcome) = 'OK' THEN now() ELSE last_good_sweep_at END
            WHERE id = \(id)
            """)
    }

    /// Enabled regions whose last good sweep (or creation) is older than `seconds`, with
    /// when that sweep was (`never` when none).
    public func staleRegions(olderThanSeconds seconds: Int) throws -> [(id: String, lastGoodSweep: String)] {
        let rows = try db.query("""
            SELECT id, COALESCE(to_char(last_good_sweep_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'never') FROM regions
            WHERE enabled AND COALESCE(last_good_sweep_at, created_at) < now() - make_interval(secs => \(seconds))
            ORDER BY id
            """)
        return try (0..<rows.count).map { (try rows.decode($0, 0, as: String.self), try rows.decode($0, 1, as: String.self)) }
    }

    /// Health and routing, locked for the rules' transaction.
    /// The region's health and partner routing, locked for the rules; `routedSecondsAgo` is
    /// how long its partners have been routed away.
    public func lockHealth(_ id: String) throws -> (health: String, routedTo: String?, routedSecondsAgo: Int)? {
        let rows = try db.query("""
            SELECT health, partner_routing_to, COALESCE(extract(epoch FROM now() - partner_routed_at)::int, 0)
            FROM regions WHERE id = \(id) FOR UPDATE
            """)
        guard rows.count == 1 else { return nil }
        return (try rows.decode(0, 0, as: String.self), try rows.decodeIfPresent(0, 1, as: String.self), try rows.decode(0, 2, as: Int.self))
    }

    /// Whether the rules only record what they would do in the region.
    public func isDryRun(_ id: String) throws -> Bool {
        let rows = try db.query("SELECT dry_run FROM regions WHERE id = \(id)")
        return rows.count == 1 ? try rows.decode(0, 0, as: Bool.self) : false
    }

    /// Enabled regions other than `id` whose partners are routed away now.
    public func routedAway(excluding id: String) throws -> [String] {
        let rows = try db.query("""
            SELECT id FROM regions WHERE id <> \(id) AND enabled AND partner_routing_to IS NOT NULL ORDER BY id
            """)
        return try rows.column(0, as: String.self)
    }

    /// Sets the health (and its change time when it changed); returns the change time in unix seconds.
    public func setHealth(_ id: String, health: String, reason: String, changed: Bool) throws -> Int {
        try db.query("""
            UPDATE regions SET health = \(health), health_reason = \(reason),
                   health_changed_at = CASE WHEN \(changed) THEN now() ELSE health_changed_at END,
                   updated_at = CASE WHEN \(changed) THEN now() ELSE updated_at END
            WHERE id = \(id)
            RETURNING extract(epoch FROM health_changed_at)::bigint
            """).decode(0, 0, as: Int.self)
    }

    public func setPartnerRouting(_ id: String, to target: String?) throws {
        try db.query("""
            UPDATE regions SET partner_routing_to = \(target), partner_routed_at = CASE WHEN \(target)::text IS NULL THEN NULL ELSE now() END
            WHERE id = \(id)
            """)
    }

    /// Another enabled, healthy region to route partners to (the first by id).
    public func healthyAlternative(to id: String) throws -> String? {
        let rows = try db.query("""
            SELECT id FROM regions WHERE id <> \(id) AND enabled AND health = 'HEALTHY' ORDER BY id LIMIT 1
            """)
        return rows.count == 1 ? try rows.decode(0, 0, as: String.self) : nil
    }

    /// Metrics: each region's last good sweep and health.
    public struct FreshnessRow: PostgresRowDecodable, Sendable {
        public static let columns = """
            id, COALESCE(extract(epoch FROM last_good_sweep_at)::bigint, 0), health,
            COALESCE(extract(epoch FROM now() - last_good_sweep_at)::bigint, -1)
            """
        public let id: String, lastGoodSweepUnix: Int, health: String, secondsBehind: Int
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); lastGoodSweepUnix = try row.next(); health = try row.next(); secondsBehind = try row.next()
        }
    }

    public func freshness() throws -> [FreshnessRow] {
        try db.query("SELECT \(columns: FreshnessRow.self) FROM regions ORDER BY id", retryOnConnectionLoss: true)
            .decode(FreshnessRow.self)
    }
}
