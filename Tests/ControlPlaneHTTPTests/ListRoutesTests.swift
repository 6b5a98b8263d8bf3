import ControlPlaneCore
@testable import ControlPlaneHTTP
import XCTest

/// Every list route reads its parameters with the one reader: `limit` and `cursor` on each,
/// every unknown or invalid parameter named in one 400, pages chained by `nextCursor`.
final class ListRoutesTests: RouteTestCase {
    /// Each list route, its credential and its largest limit.
    var lists: [(path: String, credential: TestApplication.Credential, maxLimit: Int)] {
        let tenant = app.createTenant()["id"] as! String
        let endpoint = app.call("POST", "/internal/webhook-endpoints",
                                json: ["url": "http://127.0.0.1:9/in", "events": ["*"]]).json["id"] as! String
        return [
            ("/internal/tenants-directory", .service, 500), ("/internal/tenants/\(tenant)/events", .service, 1000),
            ("/internal/webhook-endpoints", .service, 1000), ("/internal/webhook-endpoints/\(endpoint)/deliveries", .service, 1000),
            ("/internal/trial/manual-approvals", .service, 500), ("/internal/trial/signup-attempts", .service, 1000),
            ("/internal/trial/domains", .service, 5000), ("/control/v1/regions", .control, 1000), ("/control/v1/nodes", .control, 5000),
            ("/control/v1/jobs", .control, 1000), ("/control/v1/commands", .control, 1000), ("/control/v1/admin-jobs", .control, 1000),
        ]
    }

    func testEveryListRefusesUnknownAndInvalidParametersInOneAnswer() throws {
        for list in lists {
            XCTAssertEqual(app.call("GET", list.path, as: list.credential).status, 200, list.path)
            let reply = app.call("GET", list.path, query: "limit=\(list.maxLimit + 1)&cursor=!!&bogus=1", as: list.credential)
            XCTAssertEqual(reply.status, 400, list.path)
            XCTAssertEqual(reply.problemType, "urn:controlplane:problem:invalid-parameter", list.path)
            XCTAssertEqual(Set(reply.invalidNames), ["limit", "cursor", "bogus"], list.path)
            XCTAssertEqual(app.call("GET", list.path, query: "limit=0", as: list.credential).invalidNames, ["limit"], list.path)
            XCTAssertEqual(app.call("GET", list.path, query: "limit=\(list.maxLimit)", as: list.credential).status, 200, list.path)
            // A cursor that decodes but holds a key of the wrong kind: a 400 problem (or, where
            // any text is a valid position, a page), never a 5xx.
            for cursor in [PageCursor("' OR 1=1 --", "x").encoded, PageCursor("x").encoded] {
                let reply = app.call("GET", list.path, query: "cursor=\(cursor)", as: list.credential)
                XCTAssertTrue([200, 400].contains(reply.status), "\(list.path) \(reply.text)")
                if reply.status == 400 { XCTAssertEqual(reply.problemType, "urn:controlplane:problem:invalid-parameter", list.path) }
            }
        }
    }

    func testIdCursorsThatAreNotIdsAreNamedAsCursorProblems() {
        for path in ["/internal/trial/signup-attempts", "/internal/tenants/\(app.createTenant()["id"]!)/events"] {
            XCTAssertEqual(app.call("GET", path, query: "cursor=\(PageCursor("x").encoded)").invalidNames, ["cursor"], path)
        }
    }

    /// `GET /internal/trial/manual-approvals` takes limit and cursor (it refused limit and
    /// stopped silently at 500 rows before).
    func testManualApprovalsPageWithACursor() throws {
        let drafts = TrialDraftStore(db: app.db)
        for n in 0..<5 {
            let id = try drafts.create(secretHash: Array(repeating: UInt8(n), count: 32), email: "p\(n)@gmail.com")
            try drafts.submit(id, details: .init(companyName: "C\(n)", contactName: "N", country: "KR", companySize: "1-10", useCase: "u"))
        }
        var seen: [String] = [], cursor: String?
        repeat {
            let reply = app.call("GET", "/internal/trial/manual-approvals", query: "limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
            XCTAssertEqual(reply.status, 200, reply.text)
            XCTAssertLessThanOrEqual(reply.items.count, 2)
            seen += reply.items.map { $0["draftId"] as! String }
            cursor = reply.nextCursor
        } while cursor != nil
        XCTAssertEqual(seen.count, 5)
        XCTAssertEqual(Set(seen).count, 5)
        XCTAssertEqual(app.call("GET", "/internal/trial/manual-approvals", query: "status=pending").invalidNames, ["status"])
        XCTAssertEqual(app.call("GET", "/internal/trial/manual-approvals", query: "status=all&status=draft").invalidNames, ["status"])
    }

    /// Registry URLs carry the PREFLIGHT_JWT: https, or http only to a loopback registry.
    func testRegistryURLsMustBeHTTPSBeyondLoopback() throws {
        for (url, status) in [("http://registry.example.com", 422), ("http://10.1.2.3:8080", 422), ("https://registry.example.com", 201),
                              ("http://127.0.0.1:9", 201), ("http://[::1]:9", 201), ("http://localhost:9", 201)] {
            let id = "tls-\(UInt32.random(in: 0...UInt32.max))"
            let reply = app.call("POST", "/control/v1/regions", json: ["id": id, "baseUrl": url], as: .control)
            XCTAssertEqual(reply.status, status, "\(url): \(reply.text)")
            if status == 422 { XCTAssertEqual(reply.invalidNames, ["baseUrl"], url) }
        }
    }

    func testRegionsPageWithACursor() throws {
        for n in 0..<3 {
            XCTAssertEqual(app.call("POST", "/control/v1/regions", json: ["id": "r\(n)", "baseUrl": "https://r\(n).example.com"],
                                    as: .control).status, 201)
        }
        let first = app.call("GET", "/control/v1/regions", query: "limit=2", as: .control)
        XCTAssertEqual(first.items.map { $0["id"] as! String }, ["r0", "r1"])
        let rest = app.call("GET", "/control/v1/regions", query: "limit=2&cursor=\(first.nextCursor!)", as: .control)
        XCTAssertEqual(rest.items.map { $0["id"] as! String }, ["r2"])
        XCTAssertNil(rest.nextCursor)
    }
}
