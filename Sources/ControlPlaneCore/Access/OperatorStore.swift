import Postgres

/// `operators`: the named people who use the console, each with a role.
public struct OperatorStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    /// What a role may do, each including the ones before it: viewer reads everything;
    /// reviewer decides trials; operator acts on tenants, regions, nodes, commands, admin jobs,
    /// webhooks and the domain dictionary; admin manages tokens, operators and keys.
    public enum Role: String, CaseIterable, Sendable, Comparable {
        case viewer, reviewer, `operator`, admin
        public static func < (a: Role, b: Role) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "id, name, email, role, created_at, disabled_at"
        public let id: Int64, name: String, email: String?, roleName: String, createdAt: String, disabledAt: String?
        public var role: Role { Role(rawValue: roleName) ?? .viewer }
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); name = try row.next(); email = try row.next(); roleName = try row.next()
            createdAt = try row.next(); disabledAt = try row.next()
        }
    }

    public enum Failure: Error, ProblemConvertible, Equatable {
        case nameTaken, notFound, invalidName
        public var problem: Problem {
            switch self {
            case .nameTaken: .conflict("An operator with this name exists.")
            case .notFound: .notFound("No such operator.")
            case .invalidName: .validation("name", "must be 1-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
            }
        }
    }

    public static func isValidName(_ name: String) -> Bool { AccessName.isValid(name) }

    public func add(name: String, email: String?, role: Role) throws -> Row {
        guard Self.isValidName(name) else { throw Failure.invalidName }
        do {
            return try db.query("""
                INSERT INTO operators (name, email, role) VALUES (\(name), \(email), \(role.rawValue)) RETURNING \(columns: Row.self)
                """).first(Row.self)!
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw Failure.nameTaken
        }
    }

    public func list() throws -> [Row] {
        try db.query("SELECT \(columns: Row.self) FROM operators ORDER BY name").decode(Row.self)
    }

    public func named(_ name: String) throws -> Row? {
        try db.query("SELECT \(columns: Row.self) FROM operators WHERE name = \(name)").first(Row.self)
    }

    public func get(_ id: Int64) throws -> Row? {
        try db.query("SELECT \(columns: Row.self) FROM operators WHERE id = \(id)", retryOnConnectionLoss: true).first(Row.self)
    }

    public func setRole(_ name: String, role: Role) throws -> Row {
        guard let row = try db.query("""
            UPDATE operators SET role = \(role.rawValue) WHERE name = \(name) RETURNING \(columns: Row.self)
            """).first(Row.self) else { throw Failure.notFound }
        return row
    }

    public func disable(_ name: String) throws -> Row {
        guard let row = try db.query("""
            UPDATE operators SET disabled_at = COALESCE(disabled_at, now()) WHERE name = \(name) RETURNING \(columns: Row.self)
            """).first(Row.self) else { throw Failure.notFound }
        return row
    }
}
