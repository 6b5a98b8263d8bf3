import ControlPlaneCore
import Postgres
import XCTest

/// The compare-and-set cursor of a registry page (migration 0010), against the database.
final class RegistryIngestTests: RouteTestCase {
    func page(_ ids: [String], next: String?) throws -> (RegistryPage, [UInt8]) {
        let items = ids.map { #"{"jobId":"\#($0)","status":"COMPLETED","updatedAt":"2026-11-21T10:00:00Z","canonicalPayload":{"n":1}}"# }
        let cursor = next.map { "\"\($0)\"" } ?? "null"
        let body = Array(#"{"items":[\#(items.joined(separator: ","))],"nextCursor":\#(cursor),"hasMore":false}"#.utf8)
        return (try RegistryPage.parse(body), body)
    }

    /// A region of its own with a sweep run started, and the store that ingests its pages.
    func newRegion(_ prefix: String) throws -> (region: String, run: Int64, jobs: JobStore) {
        let region = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        _ = try RegionStore(db: app.db).add(id: region, settings: .init(baseURL: "https://registry.example.com"))
        return (region, try SweepRunStore(db: app.db).start(region: region, trigger: "test"), JobStore(db: app.db))
    }

    func testAPageAppliesOnlyFromTheCursorItStartedAtAndANullCursorKeepsTheStoredOne() throws {
        let (region, run, jobs) = try newRegion("cas")
        func stored() throws -> String { try app.scalar("SELECT COALESCE(cursor, '-') FROM regions WHERE id = \(region)") }
        func revisions() throws -> String { try app.scalar("SELECT count(*)::text FROM job_revisions WHERE region_id = \(region)") }

        let (first, firstBody) = try page(["a", "b"], next: "c1")
        XCTAssertEqual(try jobs.ingest(region: region, sweepRun: run, expectedCursor: nil, nextCursor: "c1", items: first.items, body: firstBody), 2)
        XCTAssertEqual(try stored(), "c1")
        // A second sweeper that started from the old position loses: nothing applied, cursor unmoved.
        let (stale, staleBody) = try page(["x"], next: "c9")
        XCTAssertNil(try jobs.ingest(region: region, sweepRun: run, expectedCursor: nil, nextCursor: "c9", items: stale.items, body: staleBody))
        XCTAssertEqual(try stored(), "c1")
        XCTAssertEqual(try revisions(), "2")
        // A last page without a cursor keeps the stored one.
        let (last, lastBody) = try page(["c"], next: nil)
        XCTAssertEqual(try jobs.ingest(region: region, sweepRun: run, expectedCursor: "c1", nextCursor: nil, items: last.items, body: lastBody), 1)
        XCTAssertEqual(try stored(), "c1")
        XCTAssertEqual(try revisions(), "3")
    }

    /// The set-based ingest (migration 0033) and the per-record loop it keeps for a page that
    /// names a job twice: a new job gets revision 1, an unchanged record none, a changed status
    /// or payload the next one, and payloads are stored byte for byte as sent.
    func testRevisionsForNewUnchangedChangedAndRepeatedJobs() throws {
        let (region, run, jobs) = try newRegion("set")
        var cursor: String?
        func ingest(_ items: [(String, String, String)]) throws -> Int? {
            let listed = items.map { #"{"jobId":"\#($0.0)","status":"\#($0.1)","updatedAt":"2026-11-21T10:00:00Z","canonicalPayload":\#($0.2)}"# }
            let next = "c\(UInt32.random(in: 0...UInt32.max))"
            let body = Array(#"{"items":[\#(listed.joined(separator: ","))],"nextCursor":"\#(next)","hasMore":true}"#.utf8)
            let page = try RegistryPage.parse(body)
            defer { cursor = next }
            return try jobs.ingest(region: region, sweepRun: run, expectedCursor: cursor, nextCursor: next, items: page.items, body: body)
        }
        XCTAssertEqual(try ingest([("a", "COMPLETED", #"{"n":1}"#), ("b", "COMPLETED", #"{"n":1}"#)]), 2)
        XCTAssertEqual(try ingest([("a", "COMPLETED", #"{"n":1}"#), ("b", "DEGRADED", #"{"n":1}"#), ("c", "COMPLETED", #"{"n": 2}"#)]), 2)
        XCTAssertEqual(try ingest([("a", "COMPLETED", #"{"n":1.0}"#), ("c", "COMPLETED", #"{ "n" : 3 }"#), ("c", "FAILED", #"{ "n" : 3 }"#)]), 3)
        let state = try app.scalar("""
            SELECT string_agg(job_id || ':' || current_revision || ':' || status, ' ' ORDER BY job_id) FROM jobs WHERE region_id = \(region)
            """)
        XCTAssertEqual(state, "a:2:COMPLETED b:2:DEGRADED c:3:FAILED")
        let revisions = try app.scalar("""
            SELECT string_agg(job_id || revision || '=' || convert_from(payload, 'UTF8'), ' ' ORDER BY job_id, revision)
            FROM job_revisions WHERE region_id = \(region)
            """)
        XCTAssertEqual(revisions, #"a1={"n":1} a2={"n":1.0} b1={"n":1} b2={"n":1} c1={"n": 2} c2={ "n" : 3 } c3={ "n" : 3 }"#)
    }
}
