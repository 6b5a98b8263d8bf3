@testable import ControlPlaneCore
import XCTest

final class JSONScannerTests: XCTestCase {
    func testAcceptsValidJSONOfEveryShape() throws {
        let valid = [#"{}"#, #"[]"#, #""""#, "0", "-0", "1.0", "1e400", "-1.5E-7", "12345678901234567890", "true", "null",
                     #"{"a":1,"a":2}"#, #" { "b" : [ 1 , 2 ] , "a" : "\u00e9é\n\/" } "#, "\"\u{10FFFF}\"",
                     String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
                     "\"" + String(repeating: "x", count: 1 << 20) + "\""]
        for text in valid {
            XCTAssertNoThrow(try JSONScanner.validate(Array(text.utf8)), String(text.prefix(40)))
        }
    }

    func testRefusesInvalidJSON() {
        let invalid: [[UInt8]] = [
            Array("".utf8), Array("{".utf8), Array("[1,]".utf8), Array("{\"a\":}".utf8), Array("01".utf8), Array("1.".utf8),
            Array(".5".utf8), Array("+1".utf8), Array("NaN".utf8), Array("tru".utf8), Array("\"\\x\"".utf8),
            Array("\"\\u12G4\"".utf8), Array("\"a\tb\"".utf8), Array("{} {}".utf8), Array("{'a':1}".utf8),
            [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xFF, 0x22], [0x22, 0xE2, 0x82, 0x22],
            Array((String(repeating: "[", count: 600) + String(repeating: "]", count: 600)).utf8),
        ]
        for bytes in invalid {
            XCTAssertThrowsError(try JSONScanner.validate(bytes), String(decoding: bytes.prefix(20), as: UTF8.self))
        }
    }

    func testSpansAreTheExactBytes() throws {
        let page = Array(#"{"items":[{"jobId":"j\u002d1","canonicalPayload": {"b":1, "a":[1.0,1e400]} }],"nextCursor":"c2","hasMore":false}"#.utf8)
        try JSONScanner.withDocument(page) { scanner, root in
            let members = try scanner.members(of: root)
            XCTAssertEqual(members.map(\.name), ["items", "nextCursor", "hasMore"])
            let items = try scanner.elements(of: members[0].value)
            XCTAssertEqual(items.count, 1)
            let item = try scanner.members(of: items[0])
            XCTAssertEqual(try scanner.string(at: item[0].value), "j-1")
            let payload = item[1].value
            XCTAssertEqual(String(decoding: page[payload.range], as: UTF8.self), #"{"b":1, "a":[1.0,1e400]}"#)
            XCTAssertEqual(try scanner.string(at: members[1].value), "c2")
            XCTAssertEqual(scanner.literal(at: members[2].value), "false")
        }
    }

    func testDecodesEscapesInNames() throws {
        try JSONScanner.withDocument(Array(#"{"\u0041\n\ud83d\ude00":1}"#.utf8)) { scanner, root in
            XCTAssertEqual(try scanner.members(of: root).first?.name, "A\n😀")
        }
    }
}
