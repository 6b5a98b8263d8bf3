import Postgres

/// `webhook_delivery_attempts`: the append-only log of every delivery attempt.
public struct WebhookDeliveryAttemptStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public func record(outboxId: Int64, attempt: Int, statusCode: Int?, error: String?, durationMs: Int) throws {
        try db.query("""
            INSERT INTO webhook_delivery_attempts (outbox_id, attempt, status_code, error, duration_ms)
            VALUES (\(outboxId), \(attempt), \(statusCode), \(error), \(durationMs))
            """)
    }

    /// One attempt with its message, as the delivery log shows it.
    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = """
            a.id, o.message_id, o.event_type, o.status, a.attempt, a.attempted_at, a.status_code, a.error, a.duration_ms
            """
        public let id: Int64, messageId: String, eventType: String, messageStatus: String, attempt: Int
        public let attemptedAt: String, statusCode: Int?, error: String?, durationMs: Int
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); messageId = try row.next(); eventType = try row.next(); messageStatus = try row.next()
            attempt = try row.next(); attemptedAt = try row.next(); statusCode = try row.next(); error = try row.next()
            durationMs = try row.next()
        }
    }

    /// An endpoint's attempts, newest first; the cursor is the attempt id.
    public func list(endpointId: String, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let before = try cursor.map { try $0.integer(0) } ?? Int64.max
        let rows = try db.query("""
            SELECT \(columns: Row.self)
            FROM webhook_delivery_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id
            WHERE o.endpoint_id = \(endpointId)::uuid AND a.id < \(before)
            ORDER BY a.id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor(String($0.id)) }
    }

    /// Every attempt of these messages, in order, by message id (the console's delivery log).
    public func attempts(outboxIds: [Int64]) throws -> [Int64: [Row]] {
        guard !outboxIds.isEmpty else { return [:] }
        let ids = "{" + outboxIds.map(String.init).joined(separator: ",") + "}"
        let rows = try db.query("""
            SELECT a.outbox_id, \(columns: Row.self)
            FROM webhook_delivery_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id
            WHERE a.outbox_id = ANY (\(ids)::bigint[]) ORDER BY a.outbox_id, a.id
            """, retryOnConnectionLoss: true).decode(Keyed.self)
        return Dictionary(grouping: rows, by: \.outboxId).mapValues { $0.map(\.row) }
    }

    struct Keyed: PostgresRowDecodable {
        static let columns = ""
        let outboxId: Int64, row: Row
        init(row reader: inout PostgresRowReader) throws { outboxId = try reader.next(); row = try Row(row: &reader) }
    }

    /// An attempt as the delivery log shows it (the API and cpctl).
    public static func write(_ attempt: Row, to json: inout JSONWriter) {
        json.beginObject()
        json.key("messageId"); json.string(attempt.messageId)
        json.key("eventType"); json.string(attempt.eventType)
        json.key("messageStatus"); json.string(attempt.messageStatus)
        json.key("attempt"); json.int(attempt.attempt)
        json.key("attemptedAt"); json.timestamp(attempt.attemptedAt)
        json.key("statusCode"); if let code = attempt.statusCode { json.int(code) } else { json.null() }
        json.key("error"); json.string(attempt.error)
        json.key("durationMs"); json.int(attempt.durationMs)
        json.endObject()
    }
}
