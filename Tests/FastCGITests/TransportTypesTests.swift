@testable import FastCGI
import XCTest

final class TransportTypesTests: XCTestCase {
    func testListenAddressParsing() {
        XCTAssertEqual(ListenAddress.parse("/run/cp/fcgi.sock", socketMode: 0o600), .unixSocket(path: "/run/cp/fcgi.sock", mode: 0o600))
        XCTAssertEqual(ListenAddress.parse("unix:/tmp/x.sock"), .unixSocket(path: "/tmp/x.sock", mode: 0o660))
        XCTAssertEqual(ListenAddress.parse("127.0.0.1:9000"), .tcp(host: "127.0.0.1", port: 9000))
        XCTAssertEqual(ListenAddress.parse("[::1]:9000"), .tcp(host: "::1", port: 9000))
        XCTAssertEqual(ListenAddress.parse("fd:0"), .inheritedStandardInput)
        XCTAssertNil(ListenAddress.parse(":9000"), "an empty host would bind every interface")
        XCTAssertNil(ListenAddress.parse("localhost:0"))
        XCTAssertNil(ListenAddress.parse("localhost:99999"))
        XCTAssertNil(ListenAddress.parse("nonsense"))
    }

    func testQueryItemsArePercentDecoded() {
        let request = Request(method: "GET", path: "/", query: "a=1&b=x%20y&c=%E2%82%AC&d=a+b&e&bad=%zz&tail=%4")
        let items = Dictionary(request.queryItems.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(items["a"], "1")
        XCTAssertEqual(items["b"], "x y")
        XCTAssertEqual(items["c"], "€")
        XCTAssertEqual(items["d"], "a b")
        XCTAssertEqual(items["e"], "")
        XCTAssertEqual(items["bad"], "%zz")
        XCTAssertEqual(items["tail"], "%4")
        XCTAssertEqual(request.queryValue("b"), "x y")
        XCTAssertNil(request.queryValue("zzz"))
        // Raw combining marks after `&` and `=` (nginx passes QUERY_STRING as sent) do not hide them.
        let marked = Request(method: "GET", path: "/", query: "status=\u{301}x&\u{301}limit=5")
        XCTAssertEqual(marked.queryItems.map(\.name), ["status", "\u{301}limit"])
        XCTAssertEqual(marked.queryItems.first?.value, "\u{301}x")
    }

    func testHeaderNamesFromParams() {
        XCTAssertEqual(RequestSlot.headerName(fromParam: "X_TRACE_ID"), "x-trace-id")
        XCTAssertEqual(RequestSlot.headerName(fromParam: "AUTHORIZATION"), "authorization")
        var headers = HTTPHeaders()
        headers.add("Content-Type", "a")
        XCTAssertEqual(headers["content-type"], "a")
        headers.set("CONTENT-TYPE", "b")
        XCTAssertEqual(headers.fields.count, 1)
        XCTAssertEqual(headers["Content-Type"], "b")
    }

    func testResponseHeadDropsFieldsThatWouldSplitHeaders() {
        var headers = HTTPHeaders()
        headers.add("content-type", "application/json")
        headers.add("x-evil", "a\r\nSet-Cookie: x=1")
        let head = String(decoding: Response(status: 201, headers: headers, body: [1, 2, 3]).serializedHead(includeContentLength: true), as: UTF8.self)
        XCTAssertEqual(head, "Status: 201 Created\r\ncontent-type: application/json\r\ncontent-length: 3\r\n\r\n")
    }

    func testTraceIDShape() {
        let id = TraceID.make()
        XCTAssertEqual(id.count, 32)
        XCTAssertTrue(id.allSatisfy { $0.isHexDigit })
        XCTAssertNotEqual(id, TraceID.make())
    }
}
