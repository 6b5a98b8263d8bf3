@testable import ControlPlaneHTTP
import ControlPlaneCore
import XCTest

/// The limiter's arithmetic, with the database's reservation played by a shared counter.
final class TokenLimiterTests: XCTestCase {
    let second: UInt64 = 1_000_000_000
    let noon = 20_000 * 86_400.0 + 43_200  // a day's noon, UTC

    func principal(_ name: String, rate: TokenRate? = nil, quota: Int? = nil) -> ServicePrincipal {
        ServicePrincipal(tokenId: "id-\(name)", name: name, scopes: [], limits: TokenLimits(rate: rate, dailyQuota: quota))
    }

    func testTheBucketAdmitsItsCapacityAtOnceThenRefillsEvenly() throws {
        let limiter = TokenLimiter(), token = principal("a", rate: TokenRate(count: 5, windowSeconds: 1))
        let noReservation: (String, Int, Int) throws -> (granted: Int, reserved: Int) = { _, _, _ in XCTFail("no quota"); return (0, 0) }
        var start: UInt64 = 1_000 * second
        let answers = try (0..<6).map { _ in try limiter.admit(token, epochSeconds: noon, monotonic: start, reserve: noReservation) }
        XCTAssertEqual(answers.map { $0.refusal == nil }, [true, true, true, true, true, false])
        XCTAssertEqual(answers[0].headers.first { $0.0 == "ratelimit-policy" }?.1, "\"rate\";q=5;w=1")
        XCTAssertEqual(answers[0].headers.first { $0.0 == "ratelimit" }?.1, "\"rate\";r=4;t=1")
        guard case .rate(let retry)? = answers[5].refusal else { return XCTFail("not refused by the rate") }
        XCTAssertEqual(retry, 1)
        start += second / 5  // 200 ms: one request's worth refilled
        XCTAssertNil(try limiter.admit(token, epochSeconds: noon, monotonic: start, reserve: noReservation).refusal)
        XCTAssertNotNil(try limiter.admit(token, epochSeconds: noon, monotonic: start, reserve: noReservation).refusal)
        // Another name has its own bucket; an unlimited token gets no fields.
        XCTAssertNil(try limiter.admit(principal("b", rate: TokenRate(count: 5, windowSeconds: 1)), epochSeconds: noon, monotonic: start,
                                       reserve: noReservation).refusal)
        XCTAssertEqual(try limiter.admit(principal("c"), epochSeconds: noon, monotonic: start, reserve: noReservation).headers.count, 0)
    }

    func testProcessesSharingAQuotaNeverAdmitMoreThanIt() throws {
        // Three processes, one PostgreSQL row: reservations are granted up to the quota, never past it.
        var reserved = 0, reservations = 0
        let reserve: (String, Int, Int) throws -> (granted: Int, reserved: Int) = { day, want, quota in
            XCTAssertEqual(day, "2024-10-04")
            reservations += 1
            let granted = min(want, max(quota - reserved, 0))
            reserved += granted
            return (granted, reserved)
        }
        let processes = [TokenLimiter(), TokenLimiter(), TokenLimiter()], token = principal("q", quota: 1000)
        var admitted = 0, refused = 0
        for request in 0..<3000 {
            let answer = try processes[request % 3].admit(token, epochSeconds: noon, monotonic: UInt64(request), reserve: reserve)
            if answer.refusal == nil { admitted += 1 } else { refused += 1 }
        }
        XCTAssertEqual(admitted, 1000)
        XCTAssertEqual(reserved, 1000)
        XCTAssertLessThan(reservations, 200)  // chunks, not a round trip per request
        // The next UTC day starts afresh.
        reserved = 0
        XCTAssertNil(try processes[0].admit(token, epochSeconds: noon + 86_400, monotonic: 10_000, reserve: { day, want, quota in
            XCTAssertEqual(day, "2024-10-05")
            return (min(want, quota), min(want, quota))
        }).refusal)
    }

    func testUsageIsDrainedOnceAndRestoredAfterAFailedFlush() throws {
        let limiter = TokenLimiter(), token = principal("u", rate: TokenRate(count: 1, windowSeconds: 60))
        for _ in 0..<3 { _ = try limiter.admit(token, epochSeconds: noon, monotonic: 5, reserve: { _, _, _ in (0, 0) }) }
        let first = limiter.drain()
        XCTAssertEqual(first.pending.map { "\($0.counts.name) \($0.counts.day) \($0.used) \($0.limited)" }, ["u 2024-10-04 1 2"])
        XCTAssertEqual(first.touch, ["id-u"])
        XCTAssertTrue(limiter.drain().pending.isEmpty)
        limiter.restore(first.pending, touch: first.touch)
        XCTAssertEqual(limiter.drain().pending.map(\.used), [1])
    }
}
