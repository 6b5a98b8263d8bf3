import Postgres

/// The service a token belongs to.
public struct ServicePrincipal: Sendable {
    public let tokenId: String
    public let name: String
    public let scopes: Set<String>

    public init(tokenId: String, name: String, scopes: Set<String>) {
        self.tokenId = tokenId
        self.name = name
        self.scopes = scopes
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
            name, token_hint, array_to_string(scopes, ','), created_at, revoked_at
            """
        public let name: String, hint: String, scopes: [String], createdAt: String, revokedAt: String?
        public init(row: inout PostgresRowReader) throws {
            name = try row.next(); hint = try row.next()
            scopes = try row.next(String.self).split(separator: ",").map(String.init)
            createdAt = try row.next(); revokedAt = try row.next()
        }
    }

    /// `createdBy` names who asked (the console's operator); nil records the database user (cpctl).
    public func create(name: String, token: String, scopes: [Scope], createdBy: String? = nil) throws {
        guard AccessName.isValid(name) else { throw Failure.malformedName }  // before the row: PostgreSQL would log it
        do {
            try db.query("""
                INSERT INTO service_tokens (name, token_hash, token_hint, scopes, created_by)
                VALUES (\(name), \(ServiceToken.hash(token)), \(String(token.prefix(9))),
                        string_to_array(\(scopes.map(\.rawValue).joined(separator: ",")), ','), COALESCE(\(createdBy), current_user))
                """)
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw Failure.nameOrTokenTaken
        } catch let error as PostgresError where error.kind == .checkViolation {
            throw Failure.malformedName
        }
    }

    public func list() throws -> [Row] {
        try db.query("SELECT \(columns: Row.self) FROM service_tokens ORDER BY created_at").decode(Row.self)
    }

    public func revoke(name: String) throws {
        let rows = try db.query("UPDATE service_tokens SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL")
        guard rows.affectedRows == 1 else { throw Failure.notFound }
    }

    /// The unrevoked token with this hash (every authenticated request, through a cache).
    public func principal(tokenHash: [UInt8]) throws -> ServicePrincipal? {
        try db.query("""
            SELECT \(columns: PrincipalRow.self) FROM service_tokens WHERE token_hash = \(tokenHash) AND revoked_at IS NULL
            """, retryOnConnectionLoss: true).first(PrincipalRow.self)?.principal
    }

    struct PrincipalRow: PostgresRowDecodable {
        static let columns = "id::text, name, array_to_string(scopes, ',')"
        let principal: ServicePrincipal
        init(row: inout PostgresRowReader) throws {
            let id: String = try row.next(), name: String = try row.next()
            principal = ServicePrincipal(tokenId: id, name: name, scopes: Set(try row.next(String.self).split(separator: ",").map(String.init)))
        }
    }
}
