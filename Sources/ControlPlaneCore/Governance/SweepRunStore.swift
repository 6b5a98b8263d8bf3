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

    /// A run as the console's region page lists it.
    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "id, trigger, started_at, finished_at, pages, records, revisions, bytes, duration_ms, outcome, error"
        public let id: Int64, trigger: String, startedAt: String, finishedAt: String?, pages: Int, records: Int, revisions: Int
        public let bytes: Int64, durationMs: Int?, outcome: String?, error: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); trigger = try row.next(); startedAt = try row.next(); finishedAt = try row.next()
            pages = try row.next(); records = try row.next(); revisions = try row.next(); bytes = try row.next()
            durationMs = try row.next(); outcome = try row.next(); error = try row.next()
        }
    }

    /// A region's runs, newest first; the cursor is the run id.
    public func list(region: String, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let before = try cursor.map { try $0.integer(0) } ?? Int64.max
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM sweep_runs WHERE region_id = \(region) AND id < \(before) ORDER BY id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor(String($0.id)) }
    }
}
