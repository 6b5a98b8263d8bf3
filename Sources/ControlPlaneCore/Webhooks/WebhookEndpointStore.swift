import Foundation
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

    /// Stores the endpoint with its signing secret sealed under the ring's first key (the
    /// id is made here, since the sealed value is bound to it).
    public func create(url: String, events: [String], secret: String, keys: SecretKeyRing) throws -> Row {
        let id = UUID().uuidString.lowercased()
        let rows = try db.query("""
            INSERT INTO webhook_endpoints (id, url, events, secret_sealed)
            VALUES (\(id)::uuid, \(url), string_to_array(\(events.joined(separator: ",")), ','), \(try keys.seal(secret, row: id)))
            RETURNING \(columns: Row.self)
            """)
        return try rows.first(Row.self)!
    }

    /// Seals every secret not yet sealed under the ring's first key (plaintext rows from before
    /// migration 0009, and rows under an older key); returns how many were rewritten.
    public func resealAll(_ keys: SecretKeyRing) throws -> Int {
        try db.transaction { db in
            let rows = try db.query("SELECT id::text, secret, secret_sealed FROM webhook_endpoints ORDER BY id FOR UPDATE")
            var changed = 0
            for row in 0..<rows.count {
                let id = try rows.decode(row, 0, as: String.self)
                let sealed = try rows.decodeIfPresent(row, 2, as: [UInt8].self)
                if let sealed, keys.isSealedUnderPrimary(sealed) { continue }
                let secret = try rows.decodeIfPresent(row, 1, as: String.self) ?? keys.open(sealed ?? [], row: id)
                try db.query("""
                    UPDATE webhook_endpoints SET secret = NULL, secret_sealed = \(try keys.seal(secret, row: id)) WHERE id = \(id)::uuid
                    """)
                changed += 1
            }
            return changed
        }
    }

    /// Endpoints not deleted, in creation order; the cursor is (created_at as PostgreSQL
    /// writes it, to the microsecond, and id).
    public func list(after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM webhook_endpoints
            WHERE deleted_at IS NULL
              AND (\(cursor?.parts[0])::timestamptz IS NULL
                   OR (created_at, id) > (\(cursor?.parts[0])::timestamptz, \(cursor?.parts[1])::uuid))
            ORDER BY created_at, webhook_endpoints.id LIMIT \(limit + 1)
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

    /// One endpoint not deleted.
    public func get(_ id: String) throws -> Row {
        guard TenantValidation.isUUID(id),
              let row = try db.query("SELECT \(columns: Row.self) FROM webhook_endpoints WHERE id = \(id)::uuid AND deleted_at IS NULL",
                                     retryOnConnectionLoss: true).first(Row.self) else { throw Failure.notFound }
        return row
    }

    /// An operator stops or resumes deliveries (a 410 stops them too); disabled endpoints get
    /// no new messages, and their pending ones die at the next attempt.
    public func setEnabled(_ id: String, _ enabled: Bool) throws -> Row {
        guard TenantValidation.isUUID(id),
              let row = try db.query("""
                UPDATE webhook_endpoints SET disabled_at = CASE WHEN \(enabled) THEN NULL ELSE COALESCE(disabled_at, now()) END
                WHERE id = \(id)::uuid AND deleted_at IS NULL RETURNING \(columns: Row.self)
                """).first(Row.self) else { throw Failure.notFound }
        return row
    }
}
