import Foundation
import ControlPlaneCore
import FastCGI
import Postgres

/// One worker's memory of recent token lookups (hits and misses), so a busy service
/// costs one query per token per `ttlSeconds`, not one per request.
///
/// While the database cannot be reached (a failover, a restart), a token it vouched for at
/// most `staleIfUnavailableSeconds` past its entry's expiry is still believed, so requests
/// served from memory (the tenant directory) ride through the switch: no revocation can
/// happen meanwhile, as revoking needs the database too. Unknown tokens are never believed.
final class ServiceTokenCache {
    private struct Entry { let principal: ServicePrincipal?; let expires: UInt64 }
    private var entries: [[UInt8]: Entry] = [:]
    private let ttl: UInt64
    private let staleGrace: UInt64
    private let capacity = 1024

    init(ttlSeconds: Int, staleIfUnavailableSeconds: Int = 0) {
        ttl = UInt64(ttlSeconds) * 1_000_000_000
        staleGrace = UInt64(staleIfUnavailableSeconds) * 1_000_000_000
    }

    func lookup(_ hash: [UInt8], now: UInt64 = MonotonicClock.nanoseconds(),
                load: () throws -> ServicePrincipal?) throws -> ServicePrincipal? {
        let cached = entries[hash]
        if let cached, cached.expires > now { return cached.principal }
        let principal: ServicePrincipal?
        do {
            principal = try load()
        } catch let error as PostgresError where error.kind == .connectionUnavailable {
            if let cached, let believed = cached.principal, cached.expires + staleGrace > now { return believed }
            throw error
        }
        if ttl > 0 {
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }  // junk tokens cannot grow it
            entries[hash] = Entry(principal: principal, expires: now + ttl)
        }
        return principal
    }
}

extension RequestContext {
    /// The calling service, when its bearer token is valid, unrevoked, unexpired, within its
    /// limits and has `scope`: 401 otherwise (403 when only the scope is missing, 429 over a
    /// limit). A token whose checksum is wrong is refused without a database lookup. The token
    /// is never logged.
    @discardableResult
    public func requireScope(_ scope: Scope) throws -> ServicePrincipal {
        let challenge = ("www-authenticate", #"Bearer realm="controlplane-internal""#)
        guard let token = ServiceToken.bearer(from: request.headers["authorization"]) else {
            throw Problem(401, type: .unauthenticated, detail: "Send a service token: Authorization: Bearer <token>.",
                            headers: [challenge])
        }
        let principal: ServicePrincipal?
        switch ServiceToken.shape(token) {
        case .checked, .legacy:
            let hash = ServiceToken.hash(token)
            principal = try tokenCache.lookup(hash) { try ServiceTokenStore(db: database).principal(tokenHash: hash) }
        case .badChecksum:
            throw Problem(401, type: .unauthenticated, detail: "The token's checksum does not match: it was mistyped or cut short.",
                          headers: [challenge])
        case .malformed:
            principal = nil
        }
        guard let principal else {
            throw Problem(401, type: .unauthenticated, detail: "The token is unknown or revoked.", headers: [challenge])
        }
        noteActor(principal.actor)
        let now = Date().timeIntervalSince1970
        if let expiresAt = principal.expiresAt, now >= expiresAt {
            throw Problem(401, type: .tokenExpired, detail: "The token expired at \(RFC3339.format(Date(timeIntervalSince1970: expiresAt))).",
                          headers: [("www-authenticate", #"Bearer realm="controlplane-internal", error="invalid_token", error_description="expired""#)])
        }
        try admit(principal, now: now)
        guard principal.scopes.contains(scope.rawValue) else {
            throw Problem(403, type: .insufficientScope, detail: "This token lacks the scope \(scope.rawValue).",
                            headers: [("www-authenticate", #"Bearer error="insufficient_scope", scope="\#(scope.rawValue)""#)])
        }
        return principal
    }

    /// The token's rate and daily quota: 429 with Retry-After over either; the RateLimit fields
    /// go on whatever the response is.
    private func admit(_ principal: ServicePrincipal, now: Double) throws {
        let database = self.database
        let (refusal, headers) = try tokenLimiter.admit(principal, epochSeconds: now, monotonic: MonotonicClock.nanoseconds()) { day, want, quota in
            try ServiceTokenUsageStore(db: database).reserve(name: principal.name, day: day, want: want, quota: quota)
        }
        responseHeaders.fields.append(contentsOf: headers)
        switch refusal {
        case nil: return
        case .rate(let seconds):
            throw Problem(429, type: .tokenRateLimited, detail: "This token is limited to \(principal.limits.rate?.description ?? "a rate"); retry in \(seconds) s.",
                          headers: [("retry-after", String(seconds))])
        case .dailyQuota(let seconds):
            throw Problem(429, type: .tokenQuotaExceeded,
                          detail: "This token's daily quota of \(principal.limits.dailyQuota ?? 0) requests is spent; it renews at 00:00 UTC.",
                          headers: [("retry-after", String(seconds))])
        }
    }
}
