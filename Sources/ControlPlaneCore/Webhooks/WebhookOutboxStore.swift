import OpenSSLCrypto
import Postgres
import ServiceLog

/// `webhook_outbox`: one message per subscribed endpoint and event, written in the
/// transaction of the change it announces, drained by `controlplane-sync deliver`.
public struct WebhookOutboxStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    /// Payload: `{"type":…,"timestamp":…,"data":{…tenant…}}`, stored as the bytes to sign.
    /// The statement fans out over the endpoints subscribed to `event` right now.
    public func enqueue(event: String, data: [UInt8], traceId: String? = nil) throws {
        let (messageId, payload) = Self.message(event: event, data: data)
        try db.query("""
            INSERT INTO webhook_outbox (message_id, endpoint_id, event_type, payload, trace_id)
            SELECT \(messageId), id, \(event), \(payload), \(traceId) FROM webhook_endpoints
            WHERE deleted_at IS NULL AND disabled_at IS NULL AND (\(event) = ANY (events) OR '*' = ANY (events))
            """)
    }

    /// A new message: its `webhook-id` and the exact bytes to sign, `{"type","timestamp","data"}`.
    static func message(event: String, data: [UInt8]) -> (messageId: String, payload: String) {
        var json = JSONWriter(capacity: data.count + 96)
        json.beginObject()
        json.key("type"); json.string(event)
        json.key("timestamp"); json.string(Logger.timestamp())
        json.key("data"); json.raw(data)
        json.endObject()
        return ("msg_" + Base64.encode(SecureRandom.bytes(18), url: true), String(decoding: json.bytes, as: UTF8.self))
    }

    /// A message due for delivery, with what sending it needs from its endpoint.
    public struct Due: PostgresRowDecodable, Sendable {
        public static let columns = """
            o.id, o.message_id, o.payload, o.attempts, e.url, e.secret, e.secret_sealed, e.id::text,
            (e.deleted_at IS NOT NULL OR e.disabled_at IS NOT NULL), e.consecutive_failures, e.previous_secret_sealed,
            extract(epoch FROM now() - e.secret_rotated_at)::float8, o.trace_id
            """
        public let id: Int64, messageId: String, payload: String, attempts: Int
        /// The endpoint's secret: in clear only for rows not yet resealed since migration 0009.
        public let url: String, secret: String?, secretSealed: [UInt8]?, endpointId: String, endpointGone: Bool
        /// Failed attempts in a row at this endpoint, before this one.
        public let endpointFailures: Int
        /// The secret the last rotation replaced, and how long ago that was.
        public let previousSecretSealed: [UInt8]?, secondsSinceRotation: Double?
        /// The trace of the request that caused the message (nil for rows from before 0029).
        public let traceId: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); messageId = try row.next(); payload = try row.next(); attempts = try row.next()
            url = try row.next(); secret = try row.next(); secretSealed = try row.next(); endpointId = try row.next()
            endpointGone = try row.next(); endpointFailures = try row.next(); previousSecretSealed = try row.next()
            secondsSinceRotation = try row.next(); traceId = try row.next()
        }

        /// The previous secret while the rotation's overlap lasts (nil after it, or if it cannot be opened).
        public func previousSigningSecret(_ keys: SecretKeyRing?, overlapSeconds: Double) -> String? {
            guard let keys, let previousSecretSealed, let age = secondsSinceRotation, age < overlapSeconds else { return nil }
            return try? keys.open(previousSecretSealed, row: endpointId)
        }

        /// The signing secret, opened with the ring when it is sealed.
        public func signingSecret(_ keys: SecretKeyRing?) -> String? {
            if let secret { return secret }
            guard let keys, let secretSealed else { return nil }
            return try? keys.open(secretSealed, row: endpointId)
        }
    }

    /// Advisory-lock namespace of webhook endpoints being called ("WH").
    static let endpointLockNamespace: Int32 = 0x5748

    /// Claims the next message of an endpoint that is due and that nobody is calling, on any
    /// host. The endpoint is the unit of failure: a failing one is not due until its own next
    /// attempt (one probe per retry interval), and its messages go strictly in order, the oldest
    /// pending first. Endpoints are taken healthy first, then least recently attempted, so
    /// failing or hanging endpoints cannot crowd out a live one. The endpoint stays held by a
    /// transaction-level advisory lock until this transaction (the delivery) ends.
    public func claimNext() throws -> Due? {
        let endpoints = try db.query("""
            SELECT e.id::text FROM webhook_endpoints e
            WHERE (e.next_attempt_at IS NULL OR e.next_attempt_at <= now())
              AND EXISTS (SELECT 1 FROM webhook_outbox o WHERE o.endpoint_id = e.id AND o.status = 'pending' AND o.next_attempt_at <= now())
            ORDER BY e.failing_since IS NOT NULL, e.last_attempt_at NULLS FIRST, e.id LIMIT 64
            """).column(0, as: String.self)
        for endpoint in endpoints where try db.tryTransactionLock(namespace: Self.endpointLockNamespace, name: endpoint) {
            // SKIP LOCKED only guards against tools that lock a row by hand; deliverers hold the endpoint first.
            if let due = try db.query("""
                SELECT \(columns: Due.self)
                FROM webhook_outbox o JOIN webhook_endpoints e ON e.id = o.endpoint_id
                WHERE o.endpoint_id = \(endpoint)::uuid AND o.status = 'pending' AND o.next_attempt_at <= now()
                  AND (e.next_attempt_at IS NULL OR e.next_attempt_at <= now())
                ORDER BY o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED
                """).first(Due.self) {
                return due
            }
        }
        return nil
    }

    /// A failed attempt of a message that stays queued: its endpoint's retry time decides when
    /// it goes again (see `WebhookEndpointStore.recordFailure`).
    public func recordFailedAttempt(_ id: Int64, attempts: Int, error: String) throws {
        try db.query("UPDATE webhook_outbox SET attempts = \(attempts), last_error = \(error) WHERE id = \(id)")
    }

    /// Dead-letters an endpoint's oldest pending messages past the newest `keep`; returns their
    /// webhook-ids, oldest first (a bounded backlog: a dead endpoint cannot grow the outbox without end).
    public func deadLetterBeyond(endpointId: String, keep: Int) throws -> [String] {
        try db.query("""
            WITH dropped AS (
                UPDATE webhook_outbox SET status = 'dead', last_error = \("backlog over \(keep) messages: the oldest are dropped")
                WHERE id IN (SELECT id FROM webhook_outbox WHERE endpoint_id = \(endpointId)::uuid AND status = 'pending'
                             ORDER BY id DESC OFFSET \(keep))
                RETURNING id, message_id)
            SELECT message_id FROM dropped ORDER BY id
            """).column(0, as: String.self)
    }

    /// Every pending message of an endpoint that is gone (deleted or disabled) dies at once.
    public func deadLetterAll(endpointId: String, error: String) throws -> Int {
        try db.query("""
            UPDATE webhook_outbox SET status = 'dead', last_error = \(error) WHERE endpoint_id = \(endpointId)::uuid AND status = 'pending'
            """).affectedRows
    }

    /// An operational event, to the endpoints that subscribed to it by name (not through `*`),
    /// other than the one it is about.
    public func enqueueOperational(event: String, about endpointId: String, data: [UInt8]) throws {
        let (messageId, payload) = Self.message(event: event, data: data)
        try db.query("""
            INSERT INTO webhook_outbox (message_id, endpoint_id, event_type, payload)
            SELECT \(messageId), id, \(event), \(payload) FROM webhook_endpoints
            WHERE deleted_at IS NULL AND disabled_at IS NULL AND \(event) = ANY (events) AND id <> \(endpointId)::uuid
            """)
    }

    public func markDelivered(_ id: Int64, attempts: Int) throws {
        try db.query("""
            UPDATE webhook_outbox SET status = 'delivered', attempts = \(attempts), delivered_at = now(), last_error = NULL
            WHERE id = \(id)
            """)
    }

    /// Given up: no more attempts (`attempts` nil keeps the count, for messages never sent).
    public func markDead(_ id: Int64, attempts: Int?, error: String) throws {
        try db.query("""
            UPDATE webhook_outbox SET status = 'dead', attempts = COALESCE(\(attempts), attempts), last_error = \(error)
            WHERE id = \(id)
            """)
    }

    /// Waiting, given up on, and the oldest waiting one's age (`/internal/metrics`).
    public func backlog() throws -> OutboxBacklog {
        try db.query("""
            SELECT (SELECT count(*)::int FROM webhook_outbox WHERE status = 'pending') AS pending,
                   (SELECT count(*)::int FROM webhook_outbox WHERE status = 'dead') AS dead,
                   (SELECT extract(epoch FROM now() - min(created_at))::float8 FROM webhook_outbox WHERE status = 'pending') AS oldest_pending_seconds
            """, retryOnConnectionLoss: true).first(OutboxBacklog.self)!
    }

    public static let statuses = ["pending", "delivered", "dead"]

    /// A message as the console shows it (never its payload: that is the receiver's business).
    public struct Message: PostgresRowDecodable, Sendable {
        public static let columns = """
            id, message_id, endpoint_id::text, event_type, status, attempts, next_attempt_at, last_error, created_at, delivered_at
            """
        public let id: Int64, messageId: String, endpointId: String, eventType: String, status: String, attempts: Int
        public let nextAttemptAt: String, lastError: String?, createdAt: String, deliveredAt: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); messageId = try row.next(); endpointId = try row.next(); eventType = try row.next()
            status = try row.next(); attempts = try row.next(); nextAttemptAt = try row.next(); lastError = try row.next()
            createdAt = try row.next(); deliveredAt = try row.next()
        }
    }

    /// Messages newest first, of one endpoint or about one tenant (the tenant is `data.id` in the
    /// payload: a scan, bounded by the limit, for the console's tenant page); the cursor is the id.
    public func messages(endpointId: String? = nil, tenantId: String? = nil, status: String? = nil,
                         after cursor: PageCursor?, limit: Int) throws -> Page<[Message]> {
        let before = try cursor.map { try $0.integer(0) } ?? Int64.max
        let rows = try db.query("""
            SELECT \(columns: Message.self) FROM webhook_outbox
            WHERE id < \(before) AND (\(endpointId)::uuid IS NULL OR endpoint_id = \(endpointId)::uuid)
              AND (\(status)::text IS NULL OR status = \(status))
              AND (\(tenantId)::text IS NULL OR payload::jsonb #>> '{data,id}' = \(tenantId))
            ORDER BY id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Message.self)
        return Page(rows: rows, limit: limit) { PageCursor(String($0.id)) }
    }

    public func message(_ id: Int64) throws -> Message? {
        try db.query("SELECT \(columns: Message.self) FROM webhook_outbox WHERE id = \(id)", retryOnConnectionLoss: true).first(Message.self)
    }

    /// A dead message goes back to the queue, due now, with the same `webhook-id` (receivers
    /// deduplicate on it) and its attempt count kept; false when it is not dead.
    public func requeueDead(_ id: Int64) throws -> Bool {
        try db.query("""
            UPDATE webhook_outbox SET status = 'pending', next_attempt_at = now() WHERE id = \(id) AND status = 'dead'
            """).affectedRows == 1
    }

    /// Queues a message again, due now, with its `webhook-id` (receivers deduplicate on it): at
    /// every endpoint that had it, or at one. Whatever its status was. Returns how many rows.
    public func resend(messageId: String, endpointId: String?) throws -> Int {
        try db.query("""
            UPDATE webhook_outbox SET status = 'pending', next_attempt_at = now()
            WHERE message_id = \(messageId) AND (\(endpointId)::uuid IS NULL OR endpoint_id = \(endpointId)::uuid)
            """).affectedRows
    }

    /// Queues again an endpoint's dead messages created since `since`; delivery takes them oldest
    /// first, as always. Returns how many.
    public func recover(endpointId: String, since: String) throws -> Int {
        try db.query("""
            UPDATE webhook_outbox SET status = 'pending', next_attempt_at = now()
            WHERE endpoint_id = \(endpointId)::uuid AND status = 'dead' AND created_at >= \(since)::timestamptz
            """).affectedRows
    }

    /// A `webhook.test` event to one endpoint, whatever it subscribed to; returns its `webhook-id`.
    public func enqueueTest(endpointId: String) throws -> String {
        var data = JSONWriter()
        data.beginObject(); data.key("endpointId"); data.string(endpointId); data.endObject()
        let (messageId, payload) = Self.message(event: "webhook.test", data: data.bytes)
        try db.query("""
            INSERT INTO webhook_outbox (message_id, endpoint_id, event_type, payload)
            VALUES (\(messageId), \(endpointId)::uuid, 'webhook.test', \(payload))
            """)
        return messageId
    }

}
