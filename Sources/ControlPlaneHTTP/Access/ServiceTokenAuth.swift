import ControlPlaneCore
import FastCGI
import Postgres

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
            throw Problem(401, type: .unauthenticated, detail: "Send a service token: Authorization: Bearer <token>.",
                            headers: [challenge])
        }
        let hash = ServiceToken.hash(token)
        let principal = try ServiceToken.isWellFormed(token)
            ? tokenCache.lookup(hash) { try ServiceTokenStore(db: database).principal(tokenHash: hash) } : nil
        guard let principal else {
            throw Problem(401, type: .unauthenticated, detail: "The token is unknown or revoked.", headers: [challenge])
        }
        guard principal.scopes.contains(scope.rawValue) else {
            throw Problem(403, type: .insufficientScope, detail: "This token lacks the scope \(scope.rawValue).",
                            headers: [("www-authenticate", #"Bearer error="insufficient_scope", scope="\#(scope.rawValue)""#)])
        }
        return principal
    }
}
