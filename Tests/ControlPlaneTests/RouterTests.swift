@testable import ControlPlane
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
