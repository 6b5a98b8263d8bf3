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
        XCTAssertNotNil(Self.parse(object?["ts"] as? String ?? ""), "ts is not an RFC 3339 UTC time")
    }

    /// `2026-12-01T21:12:51.448Z`, to the millisecond, in UTC, and now.
    func testTimestampIsNowInRFC3339UTC() throws {
        let before = Date()
        let ts = Logger.timestamp()
        let after = Date()
        XCTAssertNotNil(ts.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), ts)
        let parsed = try XCTUnwrap(Self.parse(ts), ts)
        // Milliseconds are truncated, so the stamp may read up to 1 ms before `before`.
        XCTAssertGreaterThanOrEqual(parsed.timeIntervalSince(before), -0.002, ts)
        XCTAssertLessThanOrEqual(parsed.timeIntervalSince(after), 0.001, ts)
    }

    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
