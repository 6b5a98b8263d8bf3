import XCTest
import Foundation
@testable import ServiceLog

final class LoggerTests: XCTestCase {
    func testLineIsValidJSONWithEscapedFields() throws {
        let bytes = Logger.format(level: .info, component: "test", message: "a \"quoted\"\nline",
                                  fields: [("traceId", .string("t-1\u{01}")), ("status", .int(200)),
                                           ("ok", .bool(true)), ("ms", .double(1.5))])
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        XCTAssertEqual(object?["msg"] as? String, "a \"quoted\"\nline")
        XCTAssertEqual(object?["traceId"] as? String, "t-1\u{01}")
        XCTAssertEqual(object?["status"] as? Int, 200)
        XCTAssertEqual(object?["level"] as? String, "info")
        XCTAssertNotNil(object?["ts"] as? String)
    }

    func testTimestampIsRFC3339() {
        let ts = Logger.timestamp()
        XCTAssertEqual(ts.count, 24)
        XCTAssertTrue(ts.hasSuffix("Z"))
    }
}
