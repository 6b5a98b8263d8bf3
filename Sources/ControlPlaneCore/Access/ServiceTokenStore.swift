import Postgres

/// The service a token belongs to, with what limits it.
public struct ServicePrincipal: Sendable {
    public let tokenId: String
    public let name: String
    public let scopes: Set<String>
    /// Seconds since the epoch; nil: never expires.
    public let expiresAt: Double?
    public let limits: TokenLimits

    public init(tokenId: String, name: String, scopes: Set<String>, expiresAt: Double? = nil, limits: TokenLimits = TokenLimits()) {
        self.tokenId = tokenId
        self.name = name
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.limits = limits
    }

    /// How it is named in audit trails.
    public var actor: String { "service:\(name)" }
}

/// `service_tokens`: only each token's SHA-256 and a short hint are stored.
public struct ServiceTokenStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public enum Failure: Error, Equatable { case nameOrTokenTaken, malformedName, notFound }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = """
            name, token_hint, array_to_string(scopes, ','), created_at, revoked_at, expires_at, last_used_at, superseded_at,
            rate_limit, rate_window_seconds, daily_quota, expires_at IS NOT NULL AND expires_at <= now()
            """
        public let name: String, hint: String, scopes: [String], createdAt: String, revokedAt: String?
        public let expiresAt: String?, lastUsedAt: String?, supersededAt: String?, limits: TokenLimits, expired: Bool
        public init(row: inout PostgresRowReader) throws {
            name = try row.next(); hint = try row.next()
            scopes = try row.next(String.self).split(separator: ",").map(String.init)
            createdAt = try row.next(); revokedAt = try row.next()
            expiresAt = try row.next(); lastUsedAt = try row.next(); supersededAt = try row.next()
            let rate: Int? = try row.next(), window: Int? = try row.next(), quota: Int? = try row.next()
            limits = TokenLimits(rate: rate.flatMap { count in window.flatMap { TokenRate(count: count, windowSeconds: $0) } }, dailyQuota: quota)
            expired = try row.next()
        }

        /// revoked, expired, superseded (working until its grace ends) or active.
        public var state: String {
            if revokedAt != nil { return "revoked" }
            if expired { return "expired" }
            return supersededAt != nil ? "superseded" : "active"
        }
    }

    /// `createdBy` names who asked (the console's operator); nil records the database user (cpctl).
    public func create(name: String, token: String, scopes: [Scope], createdBy: String? = nil, expiresInSeconds: Int? = nil,
                       limits: TokenLimits = TokenLimits()) throws {
        guard AccessName.isValid(name) else { throw Failure.malformedName }  // before the row: PostgreSQL would log it
        do {
            try db.query("""
                INSERT INTO service_tokens (name, token_hash, token_hint, scopes, created_by, expires_at, rate_limit, rate_window_seconds,
                                            daily_quota)
                VALUES (\(name), \(ServiceToken.hash(token)), \(String(token.prefix(9))),
                        string_to_array(\(scopes.map(\.rawValue).joined(separator: ",")), ','), COALESCE(\(createdBy), current_user),
                        now() + make_interval(secs => \(expiresInSeconds)), \(limits.rate?.count), \(limits.rate?.windowSeconds),
                        \(limits.dailyQuota))
                """)
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw Failure.nameOrTokenTaken
        } catch let error as PostgresError where error.kind == .checkViolation {
            throw Failure.malformedName
        }
    }

    public func list() throws -> [Row] {
        try db.query("SELECT \(columns: Row.self) FROM service_tokens ORDER BY name, created_at").decode(Row.self)
    }

    /// Every token of this name (a rolled one and its successor alike) stops at once.
    public func revoke(name: String) throws {
        let rows = try db.query("UPDATE service_tokens SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL")
        guard rows.affectedRows >= 1 else { throw Failure.notFound }
    }

    /// A successor for the current token of this name, with its scopes, limits and lifetime
    /// (a token made to last 90 days is followed by one that lasts 90 days); the old token keeps
    /// working for `graceSeconds`, then stops. Returns when the old one stops (RFC 3339 text).
    public func roll(name: String, successor token: String, graceSeconds: Int, createdBy: String? = nil) throws -> String {
        try db.transaction { db in
            guard let old = try db.query("""
                SELECT id::text, extract(epoch FROM expires_at - created_at)::float8 FROM service_tokens
                WHERE name = \(name) AND superseded_at IS NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
                FOR UPDATE
                """).first(CurrentToken.self) else { throw Failure.notFound }
            let ends = try db.query("""
                UPDATE service_tokens SET superseded_at = now(),
                       expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => \(graceSeconds)))
                WHERE id = \(old.id)::uuid RETURNING expires_at
                """).decode(0, 0, as: String.self)
            try db.query("""
                INSERT INTO service_tokens (name, token_hash, token_hint, scopes, created_by, expires_at, rate_limit, rate_window_seconds,
                                            daily_quota)
                SELECT name, \(ServiceToken.hash(token)), \(String(token.prefix(9))), scopes, COALESCE(\(createdBy), current_user),
                       now() + make_interval(secs => \(old.lifetimeSeconds)), rate_limit, rate_window_seconds, daily_quota
                FROM service_tokens WHERE id = \(old.id)::uuid
                """)
            return ends
        }
    }

    struct CurrentToken: PostgresRowDecodable {
        static let columns = "id::text, lifetime"
        let id: String, lifetimeSeconds: Double?
        init(row: inout PostgresRowReader) throws { id = try row.next(); lifetimeSeconds = try row.next() }
    }

    /// New limits for every live token of this name; backends apply them within
    /// CONTROLPLANE_TOKEN_CACHE_SECONDS, without a restart.
    public func setLimits(name: String, _ limits: TokenLimits) throws {
        let rows = try db.query("""
            UPDATE service_tokens SET rate_limit = \(limits.rate?.count), rate_window_seconds = \(limits.rate?.windowSeconds),
                   daily_quota = \(limits.dailyQuota)
            WHERE name = \(name) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """)
        guard rows.affectedRows >= 1 else { throw Failure.notFound }
    }

    /// The last use of these tokens was now (the backend's usage flusher, at most once a minute each).
    public func touch(tokenIds: [String]) throws {
        guard !tokenIds.isEmpty else { return }
        try db.query("""
            UPDATE service_tokens SET last_used_at = now() WHERE id = ANY(string_to_array(\(tokenIds.joined(separator: ",")), ',')::uuid[])
            """, retryOnConnectionLoss: true)
    }

    /// The unrevoked token with this hash (every authenticated request, through a cache).
    /// An expired one is returned too, so the caller can say it expired.
    public func principal(tokenHash: [UInt8]) throws -> ServicePrincipal? {
        try db.query("""
            SELECT \(columns: PrincipalRow.self) FROM service_tokens WHERE token_hash = \(tokenHash) AND revoked_at IS NULL
            """, retryOnConnectionLoss: true).first(PrincipalRow.self)?.principal
    }

    struct PrincipalRow: PostgresRowDecodable {
        static let columns = """
            id::text, name, array_to_string(scopes, ','), extract(epoch FROM expires_at)::float8, rate_limit, rate_window_seconds, daily_quota
            """
        let principal: ServicePrincipal
        init(row: inout PostgresRowReader) throws {
            let id: String = try row.next(), name: String = try row.next()
            let scopes = Set(try row.next(String.self).split(separator: ",").map(String.init))
            let expiresAt: Double? = try row.next()
            let rate: Int? = try row.next(), window: Int? = try row.next(), quota: Int? = try row.next()
            principal = ServicePrincipal(tokenId: id, name: name, scopes: scopes, expiresAt: expiresAt,
                                         limits: TokenLimits(rate: rate.flatMap { count in window.flatMap { TokenRate(count: count, windowSeconds: $0) } },
                                                             dailyQuota: quota))
        }
    }
}
