@testable import ControlPlaneCore
import Foundation
import OpenSSLCrypto
import XCTest

final class JSONWriterTests: XCTestCase {
    func testJSONWriterEscapesAndNests() throws {
        var json = JSONWriter()
        json.beginObject()
        json.key("a"); json.string("x\"\n\u{1}é")
        json.key("b"); json.beginArray(); json.int(1); json.null(); json.bool(true); json.beginObject(); json.endObject(); json.endArray()
        let raw = Array("q\"\\\u{0}z".utf8)
        json.key("c"); raw.withUnsafeBufferPointer { json.string(utf8: $0) }
        json.key("d"); json.raw(Array("{\"k\":1}".utf8))
        json.endObject()
        let text = String(decoding: json.bytes, as: UTF8.self)
        XCTAssertEqual(text, #"{"a":"x\"\n\u0001é","b":[1,null,true,{}],"c":"q\"\\\u0000z","d":{"k":1}}"#)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(json.bytes)))
    }

    func testTimestampsAndRFC3339() {
        let text = Array("2026-11-21 19:58:18.123456+00".utf8)
        var json = JSONWriter()
        text.withUnsafeBufferPointer { json.timestamp(postgresText: $0) }
        XCTAssertEqual(String(decoding: json.bytes, as: UTF8.self), #""2026-11-21T19:58:18.123456Z""#)
        for valid in ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123456789+09:00", "2026-01-02t03:04:05z"] {
            XCTAssertTrue(RFC3339.isValid(valid), valid)
        }
        for invalid in ["2026-01-02", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05", "2026-01-02T03:04:05+0900",
                        "2026-01-02T03:04:05.Z", "yesterday", "2026-01-02T03:04:05Z ", "2000-01-01T00:00:00+16:60",
                        "2000-01-01T00:00:00+24:00", "2026-13-02T03:04:05Z", "2026-01-02T24:04:05Z"] {
            XCTAssertFalse(RFC3339.isValid(invalid), invalid)
        }
        // 1,780,000,000.9 s after the epoch is 2026-05-28T20:26:40Z (the fraction is dropped, not rounded).
        XCTAssertEqual(RFC3339.format(Date(timeIntervalSince1970: 1_780_000_000.9)), "2026-05-28T20:26:40Z")
        XCTAssertEqual(RFC3339.format(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00Z")
        XCTAssertTrue(RFC3339.isValid(RFC3339.format(Date())))
    }
}
