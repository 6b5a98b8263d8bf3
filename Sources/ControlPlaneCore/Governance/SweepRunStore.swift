import Postgres

/// `sweep_runs`: one row per region sweep, with what it took in and how it ended.
public struct SweepRunStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public func start(region: String, trigger: String) throws -> Int64 {
        try db.query("INSERT INTO sweep_runs (region_id, trigger) VALUES (\(region), \(trigger)) RETURNING id")
            .decode(0, 0, as: Int64.self)
    }

    public struct Totals: Sendable {
        public var pages = 0, records = 0, revisions = 0, bytes = 0
        public init() {}
    }

    public func finish(_ id: Int64, totals: Totals, durationMs: Int, outcome: String, error: String?) throws {
        try db.query("""
            UPDATE sweep_runs SET finished_at = now(), pages = \(totals.pages), records = \(totals.records),
                   revisions = \(totals.revisions), bytes = \(totals.bytes), duration_ms = \(durationMs),
                   outcome = \(outcome), error = \(error)
            WHERE id = \(id)
            """)
    }

    /// The totals so far of a run still going.
    public func progress(_ id: Int64, totals: Totals) throws {
        try db.query("""
            UPDATE sweep_runs SET pages = \(totals.pages), records = \(totals.records), revisions = \(totals.revisions),
                   bytes = \(totals.bytes)
            WHERE id = \(id) AND finished_at IS NULL
            """)
    }

    /// Records taken in by each region's last finished sweep (metrics).
    public func lastRecordsByRegion() throws -> [String: Int] {
        let rows = try db.query("""
            SELECT DISTINCT ON (region_id) region_id, records FROM sweep_runs
            WHERE finished_at IS NOT NULL ORDER BY region_id, id DESC
            """, retryOnConnectionLoss: true)
        return Dictionary(uniqueKeysWithValues: zip(try rows.column(0, as: String.self), try rows.column(1, as: Int.self)))
    }
}
