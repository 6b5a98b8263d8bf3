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

    /// Runs a change and records its audit row in the same transaction; `target` and `summary`
    /// may depend on what the change made.
    public static func audited<T>(_ db: PostgresConnection, actor: String, traceId: String?, action: String, reason: String? = nil,
                                  _ change: (PostgresConnection) throws -> (T, target: String, summary: String?)) throws -> T {
        try db.transaction { db in
            let (value, target, summary) = try change(db)
            try AuditLogStore(db: db).record(.init(actor: actor, traceId: traceId, action: action, target: target, reason: reason,
                                                   summary: summary))
            return value
        }
    }

    public struct Filter: Sendable {
        public var actor: String?, action: String?, target: String?, since: String?
        /// Actors of one kind (`rule:`, `operator:`…).
        public var actorPrefix: String?
        public init(actor: String? = nil, action: String? = nil, target: String? = nil, since: String? = nil, actorPrefix: String? = nil) {
            self.actor = actor; self.action = action; self.target = target; self.since = since; self.actorPrefix = actorPrefix
        }
    }

    /// Newest first, filtered; the cursor is the row id.
    public func list(_ filter: Filter, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let before = try cursor.map { try $0.integer(0) } ?? Int64.max
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM audit_log
            WHERE id < \(before) AND (\(filter.actor)::text IS NULL OR actor = \(filter.actor))
              AND (\(filter.actorPrefix)::text IS NULL OR starts_with(actor, \(filter.actorPrefix)))
              AND (\(filter.action)::text IS NULL OR action = \(filter.action))
              AND (\(filter.target)::text IS NULL OR target = \(filter.target))
              AND (\(filter.since)::timestamptz IS NULL OR occurred_at >= \(filter.since)::timestamptz)
            ORDER BY id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor(String($0.id)) }
    }

    /// The newest `limit` rows.
    public func recent(limit: Int) throws -> [Row] { try list(Filter(), after: nil, limit: limit).items }

    public static func write(_ row: Row, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.int(Int(row.id))
        json.key("occurredAt"); json.timestamp(row.occurredAt)
        json.key("actor"); json.string(row.actor)
        json.key("traceId"); json.string(row.traceId)
        json.key("action"); json.string(row.action)
        json.key("target"); json.string(row.target)
        json.key("reason"); json.string(row.reason)
        json.key("summary"); json.string(row.summary)
        json.endObject()
    }
}
