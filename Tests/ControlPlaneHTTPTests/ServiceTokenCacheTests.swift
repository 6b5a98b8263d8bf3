@testable import ControlPlaneHTTP
import ControlPlaneCore
import Postgres
import XCTest

/// The worker's token cache: hits within the TTL, and a bounded belief while the database is away.
final class ServiceTokenCacheTests: XCTestCase {
    let second: UInt64 = 1_000_000_000
    let hash = Array("token-hash".utf8), principal = ServicePrincipal(tokenId: "id", name: "svc", scopes: ["tenants:read"])
    let unavailable = PostgresError(kind: .connectionUnavailable, sqlState: nil, serverMessage: "gone")

    func testALookedUpTokenIsBelievedWhileTheDatabaseIsAwayForTheGraceOnly() throws {
        let cache = ServiceTokenCache(ttlSeconds: 5, staleIfUnavailableSeconds: 60)
        var loads = 0
        XCTAssertEqual(try cache.lookup(hash, now: 100 * second) { loads += 1; return principal }?.name, "svc")
        XCTAssertEqual(try cache.lookup(hash, now: 104 * second) { loads += 1; return principal }?.name, "svc")
        XCTAssertEqual(loads, 1)  // within the TTL: no query
        // Expired, and the database unreachable: still believed until 60 s past the expiry...
        XCTAssertEqual(try cache.lookup(hash, now: 164 * second) { throw unavailable }?.name, "svc")
        // ...not after.
        XCTAssertThrowsError(try cache.lookup(hash, now: 166 * second) { throw unavailable })
        // Any other database error is not an outage to ride through.
        XCTAssertThrowsError(try cache.lookup(hash, now: 120 * second) {
            throw PostgresError(kind: .queryCanceled, sqlState: "57014", serverMessage: "timeout")
        })
    }

    func testUnknownTokensAndTokensNeverLookedUpAreNotBelieved() throws {
        let cache = ServiceTokenCache(ttlSeconds: 5, staleIfUnavailableSeconds: 60)
        XCTAssertNil(try cache.lookup(hash, now: 100 * second) { nil })  // unknown (or revoked) when last asked
        XCTAssertThrowsError(try cache.lookup(hash, now: 106 * second) { throw unavailable })
        XCTAssertThrowsError(try cache.lookup(Array("other".utf8), now: 106 * second) { throw unavailable })
    }

    func testWithoutAGraceAnOutageFailsTheLookup() throws {
        let cache = ServiceTokenCache(ttlSeconds: 5)
        _ = try cache.lookup(hash, now: 100 * second) { principal }
        XCTAssertThrowsError(try cache.lookup(hash, now: 106 * second) { throw unavailable })
    }
}
