import Postgres

/// `tenant_events`: the append-only record of every lifecycle transition.
public struct TenantEventStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "id, from_status, to_status, actor, reason, occurred_at"
        public let id: Int64, fromStatus: String?, toStatus: String, actor: String, reason: String?, occurredAt: String
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); fromStatus = try row.next(); toStatus = try row.next(); actor = try row.next()
            reason = try row.next(); occurredAt = try row.next()
        }
    }

    public func record(tenantId: String, from: String?, to: String, actor: String, reason: String?, traceId: String? = nil) throws {
        try db.query("""
            INSERT INTO tenant_events (tenant_id, from_status, to_status, actor, reason, trace_id)
            VALUES (\(tenantId)::uuid, \(from), \(to), \(actor), \(reason), \(traceId))
            """)
    }

    /// Oldest first; the cursor is the event id.
    public func list(tenantId: String, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let after = try cursor.map { try $0.integer(0) } ?? 0
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM tenant_events WHERE tenant_id = \(tenantId)::uuid AND id > \(after)
            ORDER BY id LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor(String($0.id)) }
    }
}
