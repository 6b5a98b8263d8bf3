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

    /// A session as the console's access page lists it (never its token or CSRF value).
    public struct Listed: PostgresRowDecodable, Sendable {
        /// `list` writes its select list itself (whether a session ended depends on the lifetimes).
        public static let columns = "s.id, o.name, s.created_at, s.last_seen_at, s.user_agent"
        public let id: Int64, operatorName: String, createdAt: String, lastSeenAt: String, userAgent: String?, ended: Bool
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); operatorName = try row.next(); createdAt = try row.next(); lastSeenAt = try row.next()
            userAgent = try row.next(); ended = try row.next()
        }
    }

    /// The newest sessions, live ones first.
    public func list(idleSeconds: Int, absoluteSeconds: Int, limit: Int) throws -> [Listed] {
        try db.query("""
            SELECT s.id, o.name, s.created_at, s.last_seen_at, s.user_agent,
                   s.revoked_at IS NOT NULL OR s.last_seen_at <= now() - make_interval(secs => \(idleSeconds))
                     OR s.created_at <= now() - make_interval(secs => \(absoluteSeconds)) AS ended
            FROM console_sessions s JOIN operators o ON o.id = s.operator_id
            ORDER BY ended, s.id DESC LIMIT \(limit)
            """, retryOnConnectionLoss: true).decode(Listed.self)
    }

    /// The operator a session belongs to (an admin revoking another's session audits whose it was).
    public func operatorName(session id: Int64) throws -> String? {
        let rows = try db.query("SELECT o.name FROM console_sessions s JOIN operators o ON o.id = s.operator_id WHERE s.id = \(id)")
        return rows.count == 1 ? try rows.decode(0, 0, as: String.self) : nil
    }
}
