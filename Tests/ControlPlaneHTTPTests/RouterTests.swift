@testable import ControlPlaneHTTP
import ControlPlaneCore
import FastCGI
import XCTest

final class RouterTests: XCTestCase {
    let ok: Router.Handler = { _ in Response(status: 200) }

    func makeRouter() -> Router {
        var router = Router()
        router.add("GET", "/internal/tenants", operationId: "list", ok)
        router.add("POST", "/internal/tenants", operationId: "create", ok)
        router.add("GET", "/internal/tenants/{id}", operationId: "get", ok)
        router.add("DELETE", "/internal/tenants/{id}", operationId: "delete", ok)
        router.add("POST", "/v1/trial/manual-approval/{draftId}/work-email/otp", operationId: "otp", ok)
        return router
    }

    func testMatchesTemplatesAndBindsParameters() {
        guard case .found(let route, let parameters) = makeRouter().match(method: "POST", path: "/v1/trial/manual-approval/d-1/work-email/otp") else {
            return XCTFail("no match")
        }
        XCTAssertEqual(route.operationId, "otp")
        XCTAssertEqual(parameters, ["draftId": "d-1"])
        guard case .found(let get, let p2) = makeRouter().match(method: "GET", path: "/internal/tenants/abc/") else {
            return XCTFail("trailing slash should match")
        }
        XCTAssertEqual(get.operationId, "get")
        XCTAssertEqual(p2["id"], "abc")
    }

    /// A combining mark right after a slash fuses with it into one Character (schemathesis
    /// found U+1DA00 in a draft id giving 404): segments are split on bytes.
    func testCombiningMarksDoNotHideSlashes() {
        guard case .found(let route, let parameters) = makeRouter().match(method: "POST", path: "/v1/trial/manual-approval/\u{1DA00}/work-email/otp") else {
            return XCTFail("no match")
        }
        XCTAssertEqual(route.operationId, "otp")
        XCTAssertEqual(parameters["draftId"]?.unicodeScalars.map(\.value), [0x1DA00])
        guard case .found(_, let p2) = makeRouter().match(method: "GET", path: "/internal/tenants/\u{301}x") else {
            return XCTFail("no match")
        }
        XCTAssertEqual(p2["id"], "\u{301}x")
        // Literals compare bytes: a canonically equivalent spelling is not the same path.
        var router = Router()
        router.add("GET", "/caf\u{E9}", operationId: "cafe", ok)
        guard case .notFound = router.match(method: "GET", path: "/cafe\u{301}") else { return XCTFail("matched") }
    }

    func testUnknownPathIsNotFound() {
        guard case .notFound = makeRouter().match(method: "GET", path: "/internal/nope") else { return XCTFail() }
        guard case .notFound = makeRouter().match(method: "GET", path: "/internal/tenants/a/b") else { return XCTFail() }
        guard case .notFound = makeRouter().match(method: "GET", path: "") else { return XCTFail() }
    }

    func testWrongMethodListsAllowedMethods() {
        guard case .methodNotAllowed(let allowed) = makeRouter().match(method: "PUT", path: "/internal/tenants/x") else {
            return XCTFail()
        }
        XCTAssertEqual(allowed, ["DELETE", "GET", "HEAD"])
    }

    func testHeadUsesTheGetRoute() {
        guard case .found(let route, _) = makeRouter().match(method: "HEAD", path: "/internal/tenants") else { return XCTFail() }
        XCTAssertEqual(route.operationId, "list")
    }
}
