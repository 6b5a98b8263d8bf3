import Postgres

/// `queue_reports`: each region's queues as its registry last reported them (capacity,
/// depth), swept with the nodes. The registry's list is the whole truth: a queue it no
/// longer reports is dropped.
public struct QueueReportStore {
    public let db: PostgresConnection

    public init(db: PostgresConnection) {
        self.db = db
    }

    public struct Report: Sendable, Equatable {
        public let queue: String, capacity: Int, depth: Int
        public init(queue: String, capacity: Int, depth: Int) {
            self.queue = queue; self.capacity = capacity; self.depth = depth
        }
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "region_id, queue, capacity, depth, reported_at"
        public let region: String, queue: String, capacity: Int, depth: Int, reportedAt: String
        public init(row: inout PostgresRowReader) throws {
            region = try row.next(); queue = try row.next(); capacity = try row.next(); depth = try row.next()
            reportedAt = try row.next()
        }
    }

    /// Replaces the region's reports with `reports`, in one transaction.
    public func replace(region: String, _ reports: [Report]) throws {
        try db.transaction { db in
            try db.query("""
                DELETE FROM queue_reports WHERE region_id = \(region)
                  AND queue <> ALL (\(bind: PostgresBind(textArray: reports.map(\.queue)))::text[])
                """)
            guard !reports.isEmpty else { return }
            try db.query("""
                INSERT INTO queue_reports AS q (region_id, queue, capacity, depth)
                SELECT \(region), r.queue, r.capacity, r.depth
                FROM unnest(\(bind: PostgresBind(textArray: reports.map(\.queue)))::text[],
                            \(bind: PostgresBind(textArray: reports.map { String($0.capacity) }))::int[],
                            \(bind: PostgresBind(textArray: reports.map { String($0.depth) }))::int[]) AS r (queue, capacity, depth)
                ON CONFLICT (region_id, queue) DO UPDATE
                    SET capacity = EXCLUDED.capacity, depth = EXCLUDED.depth, reported_at = now()
                """)
        }
    }

    /// One region's reports, or every region's (nil), in region and queue order.
    public func list(region: String?) throws -> [Row] {
        try db.query("""
            SELECT \(columns: Row.self) FROM queue_reports WHERE (\(region)::text IS NULL OR region_id = \(region))
            ORDER BY region_id, queue
            """, retryOnConnectionLoss: true).decode(Row.self)
    }
}
