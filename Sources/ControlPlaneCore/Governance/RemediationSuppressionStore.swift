import Postgres

/// Rule firings the remediation brake held back (`remediation_suppressions`).
public struct RemediationSuppressionStore {
    public let db: PostgresConnection

    public init(db: PostgresConnection) {
        self.db = db
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "rule_id, kind, target, reason, suppressed_at"
        public let rule: String, kind: String, target: String, reason: String, suppressedAt: String
        public init(row: inout PostgresRowReader) throws {
            rule = try row.next(); kind = try row.next(); target = try row.next(); reason = try row.next(); suppressedAt = try row.next()
        }
    }

    /// Records a suppression once per `dedupKey`; true when this call recorded it.
    public func record(region: String, rule: String, kind: String, target: String, reason: String, dedupKey: String) throws -> Bool {
        try db.query("""
            INSERT INTO remediation_suppressions (region_id, rule_id, kind, target, reason, dedup_key)
            VALUES (\(region), \(rule), \(kind), \(target), \(reason), \(dedupKey))
            ON CONFLICT (dedup_key) DO NOTHING
            """).affectedRows == 1
    }

    /// The region's newest suppressions first.
    public func recent(region: String, limit: Int) throws -> [Row] {
        try db.query("""
            SELECT \(columns: Row.self) FROM remediation_suppressions WHERE region_id = \(region) ORDER BY id DESC LIMIT \(limit)
            """).decode(Row.self)
    }
}
