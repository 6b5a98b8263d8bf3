import OpenSSLCrypto
import Postgres

/// Signing operators in to the console: a single-use link (at most 10 minutes; only its hash
/// stored) that opens a server-side session. Each step leaves an audit row.
public struct ConsoleSignIn {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public static let linkPrefix = "cpll_", sessionPrefix = "cpcs_"
    public static let maxLinkSeconds = 600
    public static let idleSeconds = 8 * 3600, absoluteSeconds = 24 * 3600

    public enum Failure: Error, ProblemConvertible, Equatable {
        case linkUnusable, operatorDisabled, unknownProxyOperator
        public var problem: Problem {
            switch self {
            case .unknownProxyOperator:
                Problem(403, type: .unauthenticated, detail: "You are signed in at the proxy, but not an operator here: ask an admin to run cpctl operators add.")
            case .linkUnusable: Problem(403, type: .unauthenticated, detail: "This sign-in link is unknown, used or expired: ask for a new one.")
            case .operatorDisabled: Problem(403, type: .unauthenticated, detail: "This operator is disabled.")
            }
        }
    }

    /// A new link's token for an enabled operator (`actor` asked for it).
    public func issueLink(operatorName: String, lifetimeSeconds: Int, actor: String) throws -> String {
        let token = Self.linkPrefix + Base64.encode(SecureRandom.bytes(32), url: true)
        let seconds = min(lifetimeSeconds, Self.maxLinkSeconds)
        try db.transaction { db in
            guard let person = try OperatorStore(db: db).named(operatorName) else { throw OperatorStore.Failure.notFound }
            guard person.disabledAt == nil else { throw Failure.operatorDisabled }
            try ConsoleLoginLinkStore(db: db).create(tokenHash: SHA256.hash(token), operatorId: person.id, lifetimeSeconds: seconds)
            try AuditLogStore(db: db).record(.init(actor: actor, traceId: nil, action: "console.login_link.issue",
                                                   target: "operator:\(person.name)", summary: "valid \(seconds) s"))
        }
        return token
    }

    public struct Session: Sendable { public let token: String, csrfToken: String, operatorName: String }

    /// Opens a session for an operator a fronting proxy authenticated (nginx's auth_basic or an
    /// SSO proxy): the operator must exist and be enabled; the audit row says how they came in.
    public func signIn(proxyOperator name: String, userAgent: String?, traceId: String) throws -> Session {
        try db.transaction { db in
            guard AccessName.isValid(name), let person = try OperatorStore(db: db).named(name) else { throw Failure.unknownProxyOperator }
            guard person.disabledAt == nil else { throw Failure.operatorDisabled }
            return try open(for: person, userAgent: userAgent, traceId: traceId, in: db, summary: "via the fronting proxy")
        }
    }

    private func open(for person: OperatorStore.Row, userAgent: String?, traceId: String, in db: PostgresConnection,
                      summary: String?) throws -> Session {
        let session = Session(token: Self.sessionPrefix + Base64.encode(SecureRandom.bytes(32), url: true),
                              csrfToken: Base64.encode(SecureRandom.bytes(24), url: true), operatorName: person.name)
        try ConsoleSessionStore(db: db).create(tokenHash: SHA256.hash(session.token), operatorId: person.id,
                                               csrfToken: session.csrfToken, userAgent: userAgent)
        try AuditLogStore(db: db).record(.init(actor: "operator:\(person.name)", traceId: traceId, action: "console.sign_in",
                                               target: "operator:\(person.name)", summary: summary))
        return session
    }

    /// Uses a link once and opens a session for its operator.
    public func signIn(linkToken: String, userAgent: String?, traceId: String) throws -> Session {
        guard linkToken.hasPrefix(Self.linkPrefix), linkToken.utf8.count < 100 else { throw Failure.linkUnusable }
        return try db.transaction { db in
            guard let operatorId = try ConsoleLoginLinkStore(db: db).consume(tokenHash: SHA256.hash(linkToken)),
                  let person = try OperatorStore(db: db).get(operatorId) else { throw Failure.linkUnusable }
            guard person.disabledAt == nil else { throw Failure.operatorDisabled }
            return try open(for: person, userAgent: userAgent, traceId: traceId, in: db, summary: nil)
        }
    }
}
