import Foundation
import Logging
import XCTest
@testable import ServiceLog

final class LoggerTests: XCTestCase {
    func testLineIsValidJSONWithEscapedFields() throws {
        let bytes = JSONLogHandler.format(level: .info, component: "test", message: "a \"quoted\"\nline",
                                          fields: [("traceId", .string("t-1\u{01}")), ("status", .stringConvertible(200)),
                                                   ("ok", .stringConvertible(true)), ("ms", .stringConvertible(1.5)),
                                                   ("list", .array([.string("a"), .stringConvertible(2)]))])
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        XCTAssertEqual(object?["msg"] as? String, "a \"quoted\"\nline")
        XCTAssertEqual(object?["traceId"] as? String, "t-1\u{01}")
        XCTAssertEqual(object?["status"] as? Int, 200)
        XCTAssertEqual(object?["ok"] as? Bool, true)
        XCTAssertEqual(object?["ms"] as? Double, 1.5)
        XCTAssertEqual(object?["list"] as? [AnyHashable], ["a", 2])
        XCTAssertEqual(object?["level"] as? String, "info")
        XCTAssertNotNil(Self.parse(object?["ts"] as? String ?? ""), "ts is not an RFC 3339 UTC time")
    }

    /// A logger's metadata (a request's trace id, route, actor) is on every line; the event's own
    /// fields win over it; levels map both ways; the level filter holds.
    func testMetadataLevelsAndTheSwiftLogBase() {
        var logger = ServiceLog.Logger(component: "test", minimumLevel: .warning)
        logger[metadataKey: "traceId"] = .string("abc")
        logger[metadataKey: "route"] = .string("/internal/x")
        XCTAssertEqual(logger.base.logLevel, .warning)
        XCTAssertEqual(logger.base[metadataKey: "traceId"], .string("abc"))
        let fields = JSONLogHandler.merged(["traceId": "abc", "route": "/internal/x"], ["route": "/override", "status": .stringConvertible(1)])
        XCTAssertEqual(fields.map(\.key), ["traceId", "route", "status"])
        XCTAssertEqual(fields[1].value, .string("/override"))
        logger.minimumLevel = .debug
        XCTAssertEqual(logger.base.logLevel, .debug)
        XCTAssertEqual(LogLevel(Logging.Logger.Level.critical), .error)
        XCTAssertEqual(LogLevel(Logging.Logger.Level.notice), .info)
        logger[metadataKey: "route"] = nil
        XCTAssertNil(logger[metadataKey: "route"])
    }

    /// `2026-12-01T21:12:51.448Z`, to the millisecond, in UTC, and now.
    func testTimestampIsNowInRFC3339UTC() throws {
        let before = Date()
        let ts = ServiceLog.Logger.timestamp()
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
