import Postgres

/// Rule firings the remediation brake held back (`REMEDIATION_SUPPRESSED`), or that a region
/// in dry run only recorded (`DRY_RUN`): `remediation_suppressions`.
public struct RemediationSuppressionStore {
    public let db: PostgresConnection

    public init(db: PostgresConnection) {
        self.db = db
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "outcome, rule_id, kind, target, reason, suppressed_at"
        public let outcome: String, rule: String, kind: String, target: String, reason: String, suppressedAt: String
        public init(row: inout PostgresRowReader) throws {
            outcome = try row.next()
            rule = try row.next(); kind = try row.next(); target = try row.next(); reason = try row.next(); suppressedAt = try row.next()
        }
    }

    /// Records a suppression once per `dedupKey`; true when this call recorded it.
    public func record(region: String, rule: String, kind: String, target: String, reason: String, dedupKey: String,
                       dryRun: Bool = false) throws -> Bool {
        try db.query("""
            INSERT INTO remediation_suppressions (region_id, rule_id, kind, target, reason, dedup_key, outcome)
            VALUES (\(region), \(rule), \(kind), \(target), \(reason), \(dedupKey),
                    \(dryRun ? "DRY_RUN" : "REMEDIATION_SUPPRESSED"))
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
