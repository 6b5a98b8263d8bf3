import OpenSSLCrypto
import Postgres

/// Who is behind a trial step, as the attempt log keeps it: the trace id and, keyed-hashed
/// with `CONTROLPLANE_HASH_KEY`, the client address (never in clear).
public struct SignupRequester: Sendable {
    public let traceId: String
    public let remoteAddress: String
    public let hashKey: [UInt8]

    public init(traceId: String, remoteAddress: String, hashKey: [UInt8]) {
        self.traceId = traceId
        self.remoteAddress = remoteAddress
        self.hashKey = hashKey
    }

    public func keyedHash(_ value: String) -> [UInt8] { SignupAttemptStore.keyedHash(value, key: hashKey) }
}

/// `signup_attempts`: every check and step of the trial funnel, with keyed hashes of the
/// address and client IP (never either in clear).
public struct SignupAttemptStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public static func keyedHash(_ value: String, key: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: key, message: Array(value.utf8))
    }

    public func record(_ requester: SignupRequester, step: String, email: String?, domain: String?, outcome: String,
                       draftId: String? = nil) throws {
        let emailHash = email.map { requester.keyedHash($0.lowercased()) }
        let ipHash = requester.keyedHash(requester.remoteAddress)
        try db.query("""
            INSERT INTO signup_attempts (trace_id, step, email_domain, email_hash, ip_hash, outcome, draft_id)
            VALUES (\(requester.traceId), \(step), \(domain), \(emailHash), \(ipHash), \(outcome), \(draftId)::uuid)
            """)
    }

    /// Email checks' rows, however many, in one statement (`AttemptLogWriter`'s batch): one
    /// statement text whatever the count, the columns as arrays (hashes as hex).
    public func recordEmailChecks(_ rows: [AttemptLogWriter.Row]) throws {
        try db.query("""
            INSERT INTO signup_attempts (trace_id, step, email_domain, email_hash, ip_hash, outcome)
            SELECT trace, 'email_check', domain, decode(email, 'hex'), decode(ip, 'hex'), outcome
            FROM unnest(\(bind: PostgresBind(textArray: rows.map(\.traceId)))::text[],
                        \(bind: PostgresBind(textArray: rows.map(\.domain)))::text[],
                        \(bind: PostgresBind(textArray: rows.map { $0.emailHash.map(Hex.encode) }))::text[],
                        \(bind: PostgresBind(textArray: rows.map { Hex.encode($0.ipHash) }))::text[],
                        \(bind: PostgresBind(textArray: rows.map(\.outcome)))::text[]) AS batch (trace, domain, email, ip, outcome)
            """)
    }

    /// Codes sent to this address (by keyed hash) in the last 24 hours.
    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "id, occurred_at, trace_id, step, email_domain, outcome, draft_id::text"
        public let id: Int64, occurredAt: String, traceId: String, step: String, emailDomain: String?, outcome: String
        public let draftId: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); occurredAt = try row.next(); traceId = try row.next(); step = try row.next()
            emailDomain = try row.next(); outcome = try row.next(); draftId = try row.next()
        }
    }

    public struct Filter: Sendable {
        public var step: String?, outcome: String?, domain: String?, since: String?, draftId: String?
        public init(step: String? = nil, outcome: String? = nil, domain: String? = nil, since: String? = nil, draftId: String? = nil) {
            self.step = step; self.outcome = outcome; self.domain = domain; self.since = since; self.draftId = draftId
        }
    }

    /// Newest first; the cursor is the row id.
    public func list(_ filter: Filter, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let before = try cursor.map { try $0.integer(0) } ?? Int64.max
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM signup_attempts
            WHERE id < \(before) AND (\(filter.step)::text IS NULL OR step = \(filter.step))
              AND (\(filter.outcome)::text IS NULL OR outcome = \(filter.outcome))
              AND (\(filter.domain)::text IS NULL OR email_domain = \(filter.domain))
              AND (\(filter.since)::timestamptz IS NULL OR occurred_at >= \(filter.since)::timestamptz)
              AND (\(filter.draftId)::uuid IS NULL OR draft_id = \(filter.draftId)::uuid)
            ORDER BY id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor(String($0.id)) }
    }

    /// Deletes rows older than the retention, at most `batch` per call; returns how many.
    public func purge(olderThanDays days: Int, batch: Int = 100_000) throws -> Int {
        try db.query("""
            DELETE FROM signup_attempts WHERE id IN (
                SELECT id FROM signup_attempts WHERE occurred_at < now() - make_interval(days => \(days)) LIMIT \(batch))
            """).affectedRows
    }
}
