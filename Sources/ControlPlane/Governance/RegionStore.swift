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
        public init(baseURL: String? = nil, pageSize: Int? = nil, requestsPerSecond: Double? = nil,
                    maxRecordsPerRun: Int? = nil, enabled: Bool? = nil) {
            self.baseURL = baseURL; self.pageSize = pageSize; self.requestsPerSecond = requestsPerSecond
            self.maxRecordsPerRun = maxRecordsPerRun; self.enabled = enabled
        }

        /// Field complaints, named as in the API.
        public func problems(creating: Bool) -> [(String, String)] {
            var out: [(String, String)] = []
            if let url = baseURL {
                if let c = URLComponents(string: url), ["http", "https"].contains(c.scheme?.lowercased() ?? ""),
                   let host = c.host, !host.isEmpty, c.user == nil, c.query == nil, c.fragment == nil, url.utf8.count <= 500 {
                } else { out.append(("baseUrl", "must be an http(s) URL without credentials, query or fragment")) }
            } else if creating {
                out.append(("baseUrl", "is required"))
            }
            if let n = pageSize, !(1...1000).contains(n) { out.append(("pageSize", "must be 1 to 1000")) }
            if let r = requestsPerSecond, !(r >= 0 && r <= 1000) { out.append(("requestsPerSecond", "must be 0 (unmetered) to 1000")) }
            if let n = maxRecordsPerRun, !(1...10_000_000).contains(n) { out.append(("maxRecordsPerRun", "must be 1 to 10000000")) }
            return out
        }
    }

    public static func idProblem(_ id: String) -> String? {
        let b = Array(id.utf8)
        guard (1...63).contains(b.count), b.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }),
              b.first != 45 else { return "must be 1 to 63 of a-z, 0-9 and -" }
        return nil
    }

    public enum Failure: Error { case notFound, exists, hasJobs }

    public func add(id: String, settings: Settings) throws -> [UInt8] {
        do {
            let rows = try db.query("""
                INSERT INTO regions (id, base_url, page_size, requests_per_second, max_records_per_run, enabled)
                VALUES (\(id), \(settings.baseURL ?? ""), \(settings.pageSize ?? 200), \(settings.requestsPerSecond ?? 5),
                        \(settings.maxRecordsPerRun ?? 20000), \(settings.enabled ?? true))
                RETURNING id, base_url, enabled, page_size, requests_per_second, max_records_per_run, health, health_reason,
                          health_changed_at, partner_routing_to, last_sweep_at, last_sweep_outcome, last_good_sweep_at,
                          cursor IS NOT NULL
                """)
            return try RegionJSON.encode(rows, row: 0)
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw Failure.exists
        }
    }

    public func update(id: String, settings: Settings) throws -> [UInt8] {
        let rows = try db.query("""
            UPDATE regions SET base_url = COALESCE(\(settings.baseURL), base_url),
                   page_size = COALESCE(\(settings.pageSize), page_size),
                   requests_per_second = COALESCE(\(settings.requestsPerSecond), requests_per_second),
                   max_records_per_run = COALESCE(\(settings.maxRecordsPerRun), max_records_per_run),
                   enabled = COALESCE(\(settings.enabled), enabled), updated_at = now()
            WHERE id = \(id)
            RETURNING id, base_url, enabled, page_size, requests_per_second, max_records_per_run, health, health_reason,
                      health_changed_at, partner_routing_to, last_sweep_at, last_sweep_outcome, last_good_sweep_at,
                      cursor IS NOT NULL
            """)
        guard rows.count == 1 else { throw Failure.notFound }
        return try RegionJSON.encode(rows, row: 0)
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

    public func list() throws -> [UInt8] {
        let rows = try db.query("""
            SELECT id, base_url, enabled, page_size, requests_per_second, max_records_per_run, health, health_reason,
                   health_changed_at, partner_routing_to, last_sweep_at, last_sweep_outcome, last_good_sweep_at,
                   cursor IS NOT NULL
            FROM regions ORDER BY id
            """, retryOnConnectionLoss: true)
        return try JSONWriter.list(count: rows.count) { json, row in try RegionJSON.write(rows, row: row, to: &json) }
    }

    public func get(id: String) throws -> [UInt8] {
        let rows = try db.query("""
            SELECT id, base_url, enabled, page_size, requests_per_second, max_records_per_run, health, health_reason,
                   health_changed_at, partner_routing_to, last_sweep_at, last_sweep_outcome, last_good_sweep_at,
                   cursor IS NOT NULL
            FROM regions WHERE id = \(id)
            """, retryOnConnectionLoss: true)
        guard rows.count == 1 else { throw Failure.notFound }
        return try RegionJSON.encode(rows, row: 0)
    }
}

enum RegionJSON {
    static func write(_ rows: PostgresRows, row: Int, to json: inout JSONWriter) throws {
        json.beginObject()
        json.key("id"); rows.withBytes(row, 0) { json.string(utf8: $0) }
        json.key("baseUrl"); rows.withBytes(row, 1) { json.string(utf8: $0) }
        json.key("enabled"); json.bool(try rows.decode(row, 2, as: Bool.self))
        json.key("pageSize"); json.int(try rows.decode(row, 3, as: Int.self))
        json.key("requestsPerSecond"); json.raw(Array(String(try rows.decode(row, 4, as: Double.self)).utf8))
        json.key("maxRecordsPerRun"); json.int(try rows.decode(row, 5, as: Int.self))
        json.key("health"); rows.withBytes(row, 6) { json.string(utf8: $0) }
        json.key("healthReason"); rows.withBytes(row, 7) { json.string(utf8: $0) }
        json.key("healthChangedAt"); rows.withBytes(row, 8) { Timestamp.write($0, to: &json) }
        json.key("partnerRoutingTo"); rows.withBytes(row, 9) { json.string(utf8: $0) }
        json.key("lastSweepAt"); rows.withBytes(row, 10) { Timestamp.write($0, to: &json) }
        json.key("lastSweepOutcome"); rows.withBytes(row, 11) { json.string(utf8: $0) }
        json.key("lastGoodSweepAt"); rows.withBytes(row, 12) { Timestamp.write($0, to: &json) }
        json.key("hasCursor"); json.bool(try rows.decode(row, 13, as: Bool.self))
        json.endObject()
    }

    static func encode(_ rows: PostgresRows, row: Int) throws -> [UInt8] {
        var json = JSONWriter()
        try write(rows, row: row, to: &json)
        return json.bytes
    }
}
