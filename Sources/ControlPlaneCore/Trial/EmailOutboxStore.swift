import Postgres

/// `email_outbox`: emails to send (today: work-email codes), drained by the sync.
public struct EmailOutboxStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public func enqueueWorkEmailCode(to address: String, draftId: String, generation: Int, traceId: String? = nil) throws {
        try db.query("""
            INSERT INTO email_outbox (template, to_address, draft_id, otp_generation, trace_id)
            VALUES ('work_email_otp', \(address), \(draftId)::uuid, \(generation), \(traceId))
            """)
    }

    /// A due message with the state of its draft (a newer code request supersedes it).
    public struct Due: PostgresRowDecodable, Sendable {
        public static let columns = "o.id, o.to_address, o.draft_id::text, o.otp_generation, o.attempts, d.otp_generation, d.status, o.trace_id"
        public let id: Int64, toAddress: String, draftId: String, generation: Int, attempts: Int
        public let draftGeneration: Int, draftStatus: String, traceId: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); toAddress = try row.next(); draftId = try row.next(); generation = try row.next()
            attempts = try row.next(); draftGeneration = try row.next(); draftStatus = try row.next(); traceId = try row.next()
        }
    }

    /// Advisory-lock namespace of drafts whose email is being sent ("EM").
    static let draftLockNamespace: Int32 = 0x454D

    /// Claims the next due message of a draft no other worker (on any host) is sending for,
    /// and locks the draft. The draft is held by a transaction-level advisory lock taken only
    /// when free: a row-locking `SKIP LOCKED` over the join would keep the outbox rows it
    /// skipped locked until this transaction ends, and a sibling worker could then find
    /// nothing to do and stop while those messages are still due.
    public func claimNext() throws -> Due? {
        let drafts = try db.query("""
            SELECT draft_id::text FROM email_outbox WHERE status = 'pending' AND next_attempt_at <= now()
            GROUP BY draft_id ORDER BY min(next_attempt_at) LIMIT 64
            """).column(0, as: String.self)
        for draft in drafts where try db.tryTransactionLock(namespace: Self.draftLockNamespace, name: draft) {
            if let due = try db.query("""
                SELECT \(columns: Due.self)
                FROM email_outbox o JOIN trial_drafts d ON d.id = o.draft_id
                WHERE o.draft_id = \(draft)::uuid AND o.status = 'pending' AND o.next_attempt_at <= now()
                ORDER BY o.next_attempt_at, o.id LIMIT 1
                FOR UPDATE OF o, d SKIP LOCKED
                """).first(Due.self) {
                return due
            }
        }
        return nil
    }

    public func markSuperseded(_ id: Int64) throws {
        try db.query("UPDATE email_outbox SET status = 'superseded' WHERE id = \(id)")
    }

    /// `status`: sent, pending (retry after `delay`) or dead.
    public func finish(_ id: Int64, status: String, attempts: Int, error: String?, retryAfterSeconds delay: Double) throws {
        try db.query("""
            UPDATE email_outbox SET status = \(status), attempts = \(attempts), last_error = \(error),
                   sent_at = CASE WHEN \(status) = 'sent' THEN now() ELSE sent_at END,
                   next_attempt_at = now() + make_interval(secs => \(delay))
            WHERE id = \(id)
            """)
    }

    /// Waiting, given up on, and the oldest waiting one's age (`/internal/metrics`).
    public func backlog() throws -> OutboxBacklog {
        try db.query("""
            SELECT (SELECT count(*)::int FROM email_outbox WHERE status = 'pending') AS pending,
                   (SELECT count(*)::int FROM email_outbox WHERE status = 'dead') AS dead,
                   (SELECT extract(epoch FROM now() - min(created_at))::float8 FROM email_outbox WHERE status = 'pending') AS oldest_pending_seconds
            """, retryOnConnectionLoss: true).first(OutboxBacklog.self)!
    }

    /// The code emails of drafts being purged.
    public func delete(draftIds ids: [String]) throws -> Int {
        try db.query("DELETE FROM email_outbox WHERE draft_id = ANY (\(bind: PostgresBind(textArray: ids))::uuid[])").affectedRows
    }
}
