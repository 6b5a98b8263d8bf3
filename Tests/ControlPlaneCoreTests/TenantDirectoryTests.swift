@testable import ControlPlaneCore
import Foundation
import XCTest

/// The in-memory directory's own logic: deltas, live contact domains, pages and their cursors.
final class TenantDirectoryTests: XCTestCase {
    func entry(_ n: UInt128, status: String = "active", kind: String? = nil, updated: Int64 = 0, domain: String? = nil,
               version: Int64) -> TenantDirectory.Entry {
        TenantDirectory.Entry(id: n, status: status, connectorKind: kind, updatedMicros: updated, contactDomain: domain,
                              json: Array("{\"n\":\(n),\"v\":\(version)}".utf8), version: version)
    }

    func items(_ page: TenantDirectory.Page) -> [[String: Int]] {
        let object = try! JSONSerialization.jsonObject(with: Data(page.body)) as! [String: Any]
        return object["items"] as! [[String: Int]]
    }

    func cursor(_ page: TenantDirectory.Page) -> UInt128? {
        let object = try! JSONSerialization.jsonObject(with: Data(page.body)) as! [String: Any]
        guard let text = object["nextCursor"] as? String else { return nil }
        return TenantDirectory.uuidBits(PageCursor(encoded: text, parts: 1)!.parts[0])
    }

    func testDeltasReplaceAndInsertInIdOrderAndTrackLiveDomains() {
        let first = TenantDirectory.Snapshot(entries: [entry(10, domain: "a.com", version: 3), entry(30, domain: "a.com", version: 5)])
        XCTAssertEqual(first.version, 5)
        XCTAssertTrue(first.hasLiveTenant(contactDomain: "a.com"))
        let second = first.applying([entry(20, domain: "b.com", version: 6), entry(10, status: "deprovisioned", domain: "a.com", version: 7),
                                     entry(40, version: 8), entry(5, version: 9)])
        XCTAssertEqual(second.version, 9)
        XCTAssertEqual(second.entries.map(\.id), [5, 10, 20, 30, 40])
        XCTAssertEqual(second.entries[1].status, "deprovisioned")
        XCTAssertTrue(second.hasLiveTenant(contactDomain: "a.com"))  // 30 still has it
        XCTAssertTrue(second.hasLiveTenant(contactDomain: "b.com"))
        let third = second.applying([entry(30, status: "deprovisioned", domain: "a.com", version: 10)])
        XCTAssertFalse(third.hasLiveTenant(contactDomain: "a.com"))
        XCTAssertEqual(third.count, 5)
        // The same tenant twice in one delta: the later version stands, listed once.
        let fourth = third.applying([entry(20, status: "active", domain: "b.com", version: 11),
                                     entry(20, status: "suspended", domain: "c.com", version: 12), entry(1, version: 13)])
        XCTAssertEqual(fourth.entries.map(\.id), [1, 5, 10, 20, 30, 40])
        XCTAssertEqual(fourth.entries[3].status, "suspended")
        XCTAssertFalse(fourth.hasLiveTenant(contactDomain: "b.com"))
        XCTAssertTrue(fourth.hasLiveTenant(contactDomain: "c.com"))
        // A bulk delta (new tenants among the old, some changed) merges into id order.
        let bulk = (0..<3000).map { entry(UInt128($0 * 7919 % 3001 + 100), version: 100 + Int64($0)) }
        let merged = fourth.applying(bulk)
        XCTAssertEqual(merged.entries.map(\.id), Array(Set(fourth.entries.map(\.id) + bulk.map(\.id))).sorted())
        // Readers of an older version keep it unchanged.
        XCTAssertEqual(first.entries.map(\.id), [10, 30])
        XCTAssertEqual(items(first.page(.init(after: nil, limit: 10))).map { $0["n"]! }, [10, 30])
    }

    func testPagesWalkEveryEntryOnceWithFilters() {
        var all: [TenantDirectory.Entry] = []
        for n in 1...23 {
            let status = n % 3 == 0 ? "suspended" : "active", kind: String? = n % 2 == 0 ? "frappe" : nil
            all.append(entry(UInt128(n * 7), status: status, kind: kind, updated: Int64(n * 1000), version: Int64(n)))
        }
        let ids: ([TenantDirectory.Entry]) -> [Int] = { $0.map { Int($0.id) } }
        typealias Request = TenantDirectory.PageRequest
        let snapshot = TenantDirectory.Snapshot(entries: all)
        func walk(_ request: TenantDirectory.PageRequest) -> [Int] {
            var seen: [Int] = [], request = request
            while true {
                let page = snapshot.page(request)
                let got = items(page)
                XCTAssertLessThanOrEqual(got.count, request.limit)
                seen += got.map { $0["n"]! }
                guard let next = cursor(page) else { return seen }
                request.after = next
            }
        }
        XCTAssertEqual(walk(Request(after: nil, limit: 5)), ids(all))
        let suspended = all.filter { $0.status == "suspended" }
        XCTAssertEqual(walk(Request(after: nil, limit: 4, status: "suspended")), ids(suspended))
        let recentFrappe = all.filter { $0.connectorKind == "frappe" && $0.updatedMicros >= 10_000 }
        XCTAssertEqual(walk(Request(after: nil, limit: 3, connectorKind: "frappe", updatedSinceMicros: 10_000)), ids(recentFrappe))
        XCTAssertEqual(items(snapshot.page(Request(after: 7 * 23, limit: 5))).count, 0)
        // The same page again: the same bytes and ETag; another page, another ETag.
        let once = snapshot.page(Request(after: 14, limit: 5)), again = snapshot.page(Request(after: 14, limit: 5))
        XCTAssertEqual(once.body, again.body)
        XCTAssertEqual(once.etag, again.etag)
        XCTAssertNotEqual(once.etag, snapshot.page(Request(after: 21, limit: 5)).etag)
    }

    func testUUIDBitsRoundTripInTheOrderPostgreSQLSortsThem() {
        let ids = (0..<200).map { _ in UUID().uuidString }
        for id in ids {
            XCTAssertEqual(TenantDirectory.uuidText(TenantDirectory.uuidBits(id)!), id.lowercased())
        }
        let textOrder: [String] = ids.map { $0.lowercased() }.sorted()
        let bitsOrder: [UInt128] = ids.map { TenantDirectory.uuidBits($0)! }.sorted()
        XCTAssertEqual(textOrder, bitsOrder.map { TenantDirectory.uuidText($0) })
        XCTAssertNil(TenantDirectory.uuidBits("' OR 1=1"))
        XCTAssertNil(TenantDirectory.uuidBits("0000"))
    }

    func testRFC3339MicrosecondsAsPostgreSQLReadsThem() {
        XCTAssertEqual(RFC3339.microseconds("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(RFC3339.microseconds("1970-01-01T01:00:00+01:00"), 0)
        XCTAssertEqual(RFC3339.microseconds("1969-12-31T23:00:00-01:00"), 0)
        XCTAssertEqual(RFC3339.microseconds("2026-12-02T05:53:50.1234565Z"), 1_796_190_830_123_457)
        XCTAssertEqual(RFC3339.microseconds("2026-12-02T05:53:50.5z"), 1_796_190_830_500_000)
        XCTAssertNil(RFC3339.microseconds("yesterday"))
    }
}
