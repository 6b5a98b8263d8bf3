import Postgres

/// `audit_log`: who did what, from which surface, append-only (the database refuses UPDATE,
/// DELETE and TRUNCATE). Written in the transaction of the change it records; never a secret.
public struct AuditLogStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public struct Entry: Sendable {
        public let actor: String, traceId: String?, action: String, target: String?, reason: String?, summary: String?
        public init(actor: String, traceId: String?, action: String, target: String?, reason: String? = nil, summary: String? = nil) {
            self.actor = actor; self.traceId = traceId; self.action = action; self.target = target; self.reason = reason
            self.summary = summary
        }
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "id, occurred_at, actor, trace_id, action, target, reason, summary"
        public let id: Int64, occurredAt: String, actor: String, traceId: String?, action: String, target: String?
        public let reason: String?, summary: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); occurredAt = try row.next(); actor = try row.next(); traceId = try row.next()
            action = try row.next(); target = try row.next(); reason = try row.next(); summary = try row.next()
        }
    }

    public func record(_ entry: Entry) throws {
        try db.query("""
            INSERT INTO audit_log (actor, trace_id, action, target, reason, summary)
            VALUES (\(entry.actor), \(entry.traceId), \(entry.action), \(entry.target), \(entry.reason), \(entry.summary))
            """)
    }

    /// Newest first, optionally one actor's, action's or target's.
    public func recent(actor: String? = nil, action: String? = nil, target: String? = nil, limit: Int) throws -> [Row] {
        try db.query("""
            SELECT \(columns: Row.self) FROM audit_log
            WHERE (\(actor)::text IS NULL OR actor = \(actor)) AND (\(action)::text IS NULL OR action = \(action))
              AND (\(target)::text IS NULL OR target = \(target))
            ORDER BY id DESC LIMIT \(limit)
            """, retryOnConnectionLoss: true).decode(Row.self)
    }
}
