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

    /// What the API shows of an endpoint (never the secret), with its delivery state.
    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = """
            id::text, url, array_to_string(events, ','), created_at, disabled_at IS NOT NULL, failing_since, next_attempt_at,
            consecutive_failures, disabled_reason,
            (SELECT count(*)::int FROM webhook_outbox o WHERE o.endpoint_id = webhook_endpoints.id AND o.status = 'pending'),
            description
            """
        public let id: String, url: String, events: [String], createdAt: String, disabled: Bool
        public let failingSince: String?, nextAttemptAt: String?, consecutiveFailures: Int, disabledReason: String?, backlog: Int
        public let description: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); url = try row.next()
            events = try row.next(String.self).split(separator: ",").map(String.init)
            createdAt = try row.next(); disabled = try row.next(); failingSince = try row.next(); nextAttemptAt = try row.next()
            consecutiveFailures = try row.next(); disabledReason = try row.next(); backlog = try row.next(); description = try row.next()
        }

        /// healthy, failing (its backlog waits for the next probe) or disabled.
        public var state: String { disabled ? "disabled" : failingSince == nil ? "healthy" : "failing" }
    }

    public static let states = ["healthy", "failing", "disabled"]

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
            let rows = try db.query("""
                SELECT id::text, secret, secret_sealed, previous_secret_sealed FROM webhook_endpoints ORDER BY id FOR UPDATE
                """)
            var changed = 0
            for row in 0..<rows.count {
                let id = try rows.decode(row, 0, as: String.self)
                let sealed = try rows.decodeIfPresent(row, 2, as: [UInt8].self)
                let previous = try rows.decodeIfPresent(row, 3, as: [UInt8].self)
                let currentDone = sealed.map(keys.isSealedUnderPrimary) ?? false
                let previousDone = previous.map(keys.isSealedUnderPrimary) ?? true
                if currentDone && previousDone { continue }
                let secret = try rows.decodeIfPresent(row, 1, as: String.self) ?? keys.open(sealed ?? [], row: id)
                // The previous secret of a rotation still in its overlap is resealed too.
                let resealedPrevious = try previous.map { try keys.seal(try keys.open($0, row: id), row: id) }
                try db.query("""
                    UPDATE webhook_endpoints SET secret = NULL, secret_sealed = \(try keys.seal(secret, row: id)),
                           previous_secret_sealed = \(resealedPrevious)
                    WHERE id = \(id)::uuid
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

    /// Stops deliveries to an endpoint (a 410 Gone, or failing for too long); false when it was
    /// disabled already.
    public func disable(_ id: String, reason: String) throws -> Bool {
        try db.query("""
            UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = \(reason) WHERE id = \(id)::uuid AND disabled_at IS NULL
            """).affectedRows == 1
    }

    /// A delivery succeeded: the endpoint is healthy and its backlog goes on at once.
    public func recordSuccess(_ id: String) throws {
        try db.query("""
            UPDATE webhook_endpoints SET consecutive_failures = 0, failing_since = NULL, next_attempt_at = NULL, last_attempt_at = now()
            WHERE id = \(id)::uuid
            """)
    }

    /// A delivery failed: the endpoint's whole backlog waits `delay` seconds for the next probe.
    /// Returns the failures in a row and how long (seconds) the endpoint has been failing.
    public func recordFailure(_ id: String, delaySeconds delay: Double) throws -> (failures: Int, failingSeconds: Double) {
        let rows = try db.query("""
            UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1, failing_since = COALESCE(failing_since, now()),
                   next_attempt_at = now() + make_interval(secs => \(delay)), last_attempt_at = now()
            WHERE id = \(id)::uuid
            RETURNING consecutive_failures, extract(epoch FROM now() - failing_since)::float8
            """)
        guard rows.count == 1 else { return (0, 0) }
        return (try rows.decode(0, 0, as: Int.self), try rows.decode(0, 1, as: Double.self))
    }

    /// Endpoints by delivery state, with their pending messages (metrics: bounded labels).
    public func stateCounts() throws -> [(state: String, endpoints: Int, pending: Int)] {
        let rows = try db.query("""
            SELECT CASE WHEN e.disabled_at IS NOT NULL THEN 'disabled' WHEN e.failing_since IS NOT NULL THEN 'failing' ELSE 'healthy' END,
                   count(*)::int, COALESCE(sum(p.pending), 0)::int
            FROM webhook_endpoints e
            LEFT JOIN (SELECT endpoint_id, count(*) AS pending FROM webhook_outbox WHERE status = 'pending' GROUP BY endpoint_id) p
                   ON p.endpoint_id = e.id
            WHERE e.deleted_at IS NULL GROUP BY 1
            """, retryOnConnectionLoss: true)
        var counts = Dictionary(uniqueKeysWithValues: Self.states.map { ($0, (0, 0)) })
        for row in 0..<rows.count {
            counts[try rows.decode(row, 0, as: String.self)] = (try rows.decode(row, 1, as: Int.self), try rows.decode(row, 2, as: Int.self))
        }
        return Self.states.map { ($0, counts[$0]!.0, counts[$0]!.1) }
    }

    /// An endpoint as the API shows it (never its secret).
    public static func write(_ endpoint: WebhookEndpointStore.Row, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.string(endpoint.id)
        json.key("url"); json.string(endpoint.url)
        json.key("events"); json.beginArray(); endpoint.events.forEach { json.string($0) }; json.endArray()
        json.key("description"); json.string(endpoint.description)
        json.key("createdAt"); json.timestamp(endpoint.createdAt)
        json.key("disabled"); json.bool(endpoint.disabled)
        json.key("state"); json.string(endpoint.state)
        json.key("failingSince"); json.timestamp(endpoint.failingSince)
        json.key("nextAttemptAt"); json.timestamp(endpoint.nextAttemptAt)
        json.key("consecutiveFailures"); json.int(endpoint.consecutiveFailures)
        json.key("disabledReason"); json.string(endpoint.disabledReason)
        json.key("backlog"); json.int(endpoint.backlog)
        json.endObject()
    }

    /// One endpoint not deleted.
    public func get(_ id: String) throws -> Row {
        guard TenantValidation.isUUID(id),
              let row = try db.query("SELECT \(columns: Row.self) FROM webhook_endpoints WHERE id = \(id)::uuid AND deleted_at IS NULL",
                                     retryOnConnectionLoss: true).first(Row.self) else { throw Failure.notFound }
        return row
    }

    /// A new signing secret; the one it replaces is kept (sealed) to sign alongside it during the
    /// overlap. Returns false when there is no such endpoint.
    public func rotateSecret(_ id: String, to secret: String, keys: SecretKeyRing) throws -> Bool {
        guard TenantValidation.isUUID(id) else { return false }
        return try db.transaction { db in
            let rows = try db.query("""
                SELECT secret, secret_sealed FROM webhook_endpoints WHERE id = \(id)::uuid AND deleted_at IS NULL FOR UPDATE
                """)
            guard rows.count == 1 else { return false }
            let old = try rows.decodeIfPresent(0, 0, as: String.self) ?? keys.open(try rows.decodeIfPresent(0, 1, as: [UInt8].self) ?? [], row: id)
            try db.query("""
                UPDATE webhook_endpoints SET secret = NULL, secret_sealed = \(try keys.seal(secret, row: id)),
                       previous_secret_sealed = \(try keys.seal(old, row: id)), secret_rotated_at = now()
                WHERE id = \(id)::uuid
                """)
            return true
        }
    }

    /// Changes what is given (nil leaves a field as it is; an empty description clears it).
    public func update(_ id: String, url: String?, events: [String]?, description: String?) throws -> Row {
        guard TenantValidation.isUUID(id),
              let row = try db.query("""
                UPDATE webhook_endpoints SET url = COALESCE(\(url), url),
                       events = COALESCE(string_to_array(\(events?.joined(separator: ",")), ','), events),
                       description = CASE WHEN \(description)::text IS NULL THEN description ELSE NULLIF(\(description), '') END
                WHERE id = \(id)::uuid AND deleted_at IS NULL RETURNING \(columns: Row.self)
                """).first(Row.self) else { throw Failure.notFound }
        return row
    }

    /// An operator stops or resumes deliveries (a 410 stops them too); disabled endpoints get
    /// no new messages, and their pending ones die at the next attempt.
    public func setEnabled(_ id: String, _ enabled: Bool) throws -> Row {
        guard TenantValidation.isUUID(id),
              let row = try db.query("""
                UPDATE webhook_endpoints SET disabled_at = CASE WHEN \(enabled) THEN NULL ELSE COALESCE(disabled_at, now()) END,
                       disabled_reason = CASE WHEN \(enabled) THEN NULL ELSE COALESCE(disabled_reason, 'by an operator') END,
                       failing_since = CASE WHEN \(enabled) THEN NULL ELSE failing_since END,
                       consecutive_failures = CASE WHEN \(enabled) THEN 0 ELSE consecutive_failures END,
                       next_attempt_at = CASE WHEN \(enabled) THEN NULL ELSE next_attempt_at END
                WHERE id = \(id)::uuid AND deleted_at IS NULL RETURNING \(columns: Row.self)
                """).first(Row.self) else { throw Failure.notFound }
        return row
    }
}
