import Postgres

/// `console_sessions`: server-side sessions of signed-in operators; the cookie carries a
/// random token of which only the SHA-256 is kept. Idle and absolute lifetimes are checked at
/// every lookup; revoked sessions stay listed.
public struct ConsoleSessionStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public struct Live: PostgresRowDecodable, Sendable {
        public static let columns = "id, operator_id, csrf_token, extract(epoch FROM now() - last_seen_at)::int"
        public let id: Int64, operatorId: Int64, csrfToken: String, idleSeconds: Int
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); operatorId = try row.next(); csrfToken = try row.next(); idleSeconds = try row.next()
        }
    }

    public func create(tokenHash: [UInt8], operatorId: Int64, csrfToken: String, userAgent: String?) throws {
        try db.query("""
            INSERT INTO console_sessions (token_hash, operator_id, csrf_token, user_agent)
            VALUES (\(tokenHash), \(operatorId), \(csrfToken), \(userAgent.map { String($0.prefix(300)) }))
            """)
    }

    /// The session, when it is not revoked, was seen within `idleSeconds` and began within `absoluteSeconds`.
    public func live(tokenHash: [UInt8], idleSeconds: Int, absoluteSeconds: Int) throws -> Live? {
        try db.query("""
            SELECT \(columns: Live.self) FROM console_sessions
            WHERE token_hash = \(tokenHash) AND revoked_at IS NULL
              AND last_seen_at > now() - make_interval(secs => \(idleSeconds))
              AND created_at > now() - make_interval(secs => \(absoluteSeconds))
            """, retryOnConnectionLoss: true).first(Live.self)
    }

    /// Marks the session seen (callers do so at most once a minute).
    public func touch(_ id: Int64) throws {
        try db.query("UPDATE console_sessions SET last_seen_at = now() WHERE id = \(id)")
    }

    public func revoke(_ id: Int64) throws {
        try db.query("UPDATE console_sessions SET revoked_at = COALESCE(revoked_at, now()) WHERE id = \(id)")
    }

    /// Every session of a disabled operator ends with it.
    public func revokeAll(operatorId: Int64) throws -> Int {
        try db.query("UPDATE console_sessions SET revoked_at = now() WHERE operator_id = \(operatorId) AND revoked_at IS NULL").affectedRows
    }
}
