import Postgres

/// `webhook_endpoints`: subscriptions to lifecycle events, with their signing secret.
public struct WebhookEndpointStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public enum Failure: Error, ProblemConvertible {
        case notFound
        public var problem: Problem { .notFound("No such webhook endpoint.") }
    }

    /// What the API shows of an endpoint (never the secret).
    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "id::text, url, array_to_string(events, ','), created_at, disabled_at IS NOT NULL"
        public let id: String, url: String, events: [String], createdAt: String, disabled: Bool
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); url = try row.next()
            events = try row.next(String.self).split(separator: ",").map(String.init)
            createdAt = try row.next(); disabled = try row.next()
        }
    }

    public func create(url: String, events: [String], secret: String) throws -> Row {
        let rows = try db.query("""
            INSERT INTO webhook_endpoints (url, events, secret)
            VALUES (\(url), string_to_array(\(events.joined(separator: ",")), ','), \(secret))
            RETURNING \(columns: Row.self)
            """)
        return try rows.first(Row.self)!
    }

    /// Endpoints not deleted, in creation order; the cursor is (created_at as PostgreSQL
    /// writes it, to the microsecond, and id).
    public func list(after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM webhook_endpoints
            WHERE deleted_at IS NULL
              AND (\(cursor?.parts[0])::timestamptz IS NULL
                   OR (created_at, id) > (\(cursor?.parts[0])::timestamptz, \(cursor?.parts[1])::uuid))
            ORDER BY created_at, id LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.createdAt, $0.id) }
    }

    public func requireExists(_ id: String) throws {
        guard TenantValidation.isUUID(id),
              try db.query("SELECT 1 FROM webhook_endpoints WHERE id = \(id)::uuid", retryOnConnectionLoss: true).count == 1 else {
            throw Failure.notFound
        }
    }

    public func delete(_ id: String) throws {
        guard TenantValidation.isUUID(id) else { throw Failure.notFound }
        let rows = try db.query("UPDATE webhook_endpoints SET deleted_at = now() WHERE id = \(id)::uuid AND deleted_at IS NULL")
        guard rows.affectedRows == 1 else { throw Failure.notFound }
    }

    /// A receiver answered 410 Gone: it asks never to be called again.
    public func disable(_ id: String) throws {
        try db.query("UPDATE webhook_endpoints SET disabled_at = now() WHERE id = \(id)::uuid")
    }
}
