import FastCGI
import Postgres

/// The service a token belongs to.
public struct ServicePrincipal: Sendable {
    public let tokenId: String
    public let name: String
    public let scopes: Set<String>

    /// How it is named in audit trails.
    public var actor: String { "service:\(name)" }
}

/// One worker's memory of recent token lookups (hits and misses), so a busy service
/// costs one query per token per `ttlSeconds`, not one per request.
final class ServiceTokenCache {
    private struct Entry { let principal: ServicePrincipal?; let expires: UInt64 }
    private var entries: [[UInt8]: Entry] = [:]
    private let ttl: UInt64
    private let capacity = 1024

    init(ttlSeconds: Int) { ttl = UInt64(ttlSeconds) * 1_000_000_000 }

    func lookup(_ hash: [UInt8], load: () throws -> ServicePrincipal?) rethrows -> ServicePrincipal? {
        let now = MonotonicClock.nanoseconds()
        if let entry = entries[hash], entry.expires > now { return entry.principal }
        let principal = try load()
        if ttl > 0 {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }  // junk tokens cannot grow it
            entries[hash] = Entry(principal: principal, expires: now + ttl)
        }
        return principal
    }
}

extension RequestContext {
    /// The calling service, when its bearer token is valid, unrevoked and has `scope`:
    /// 401 otherwise (403 when only the scope is missing). The token is never logged.
    @discardableResult
    public func requireScope(_ scope: Scope) throws -> ServicePrincipal {
        let challenge = ("www-authenticate", #"Bearer realm="controlplane-internal""#)
        guard let token = ServiceToken.bearer(from: request.headers["authorization"]) else {
            throw HTTPError(401, slug: "unauthenticated", detail: "Send a service token: Authorization: Bearer <token>.",
                            headers: [challenge])
        }
        let hash = ServiceToken.hash(token)
        let principal = try ServiceToken.isWellFormed(token) ? tokenCache.lookup(hash) {
            let rows = try database.query("""
                SELECT id::text, name, array_to_string(scopes, ',') FROM service_tokens
                WHERE token_hash = \(hash) AND revoked_at IS NULL
                """, retryOnConnectionLoss: true)
            guard rows.count == 1 else { return nil }
            let scopes = try rows.decode(0, 2, as: String.self).split(separator: ",").map(String.init)
            return ServicePrincipal(tokenId: try rows.decode(0, 0), name: try rows.decode(0, 1), scopes: Set(scopes))
        } : nil
        guard let principal else {
            throw HTTPError(401, slug: "unauthenticated", detail: "The token is unknown or revoked.", headers: [challenge])
        }
        guard principal.scopes.contains(scope.rawValue) else {
            throw HTTPError(403, slug: "insufficient-scope", detail: "This token lacks the scope \(scope.rawValue).",
                            headers: [("www-authenticate", #"Bearer error="insufficient_scope", scope="\#(scope.rawValue)""#)])
        }
        return principal
    }
}
