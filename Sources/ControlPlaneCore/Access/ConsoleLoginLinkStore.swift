import Postgres

/// `console_login_links`: single-use sign-in links; only the SHA-256 of each token is kept.
public struct ConsoleLoginLinkStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public func create(tokenHash: [UInt8], operatorId: Int64, lifetimeSeconds: Int) throws {
        try db.query("""
            INSERT INTO console_login_links (token_hash, operator_id, expires_at)
            VALUES (\(tokenHash), \(operatorId), now() + make_interval(secs => \(lifetimeSeconds)))
            """)
    }

    /// Uses the link once: the operator it signs in, or nil when it is unknown, used or expired.
    public func consume(tokenHash: [UInt8]) throws -> Int64? {
        let rows = try db.query("""
            UPDATE console_login_links SET used_at = now()
            WHERE token_hash = \(tokenHash) AND used_at IS NULL AND expires_at > now()
            RETURNING operator_id
            """)
        return rows.count == 1 ? try rows.decode(0, 0, as: Int64.self) : nil
    }
}
