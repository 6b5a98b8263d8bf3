@testable import ControlPlaneCore
import XCTest

final class EnvironmentTests: XCTestCase {
    func testParsesKeyValueFiles() throws {
        let values = try Environment.parse("""
            # comment
            A=1
            export B = two words
            C="quoted # not a comment"
            D=

            """, source: "test")
        XCTAssertEqual(values["A"], "1")
        XCTAssertEqual(values["B"], "two words")
        XCTAssertEqual(values["C"], "quoted # not a comment")
        XCTAssertEqual(Environment(values)["D"], nil)
        XCTAssertThrowsError(try Environment.parse("NOEQUALS", source: "test"))
    }

    func testTypedValuesAreValidated() throws {
        let env = Environment(["N": "12", "BAD": "x", "FLAG": "off"])
        XCTAssertEqual(try env.int("N", default: 1, range: 1...100), 12)
        XCTAssertEqual(try env.int("MISSING", default: 5, range: 1...100), 5)
        XCTAssertThrowsError(try env.int("BAD", default: 1, range: 1...100))
        XCTAssertThrowsError(try env.int("N", default: 1, range: 1...10))
        XCTAssertEqual(try env.bool("FLAG", default: true), false)
        XCTAssertThrowsError(try env.bool("BAD", default: true))
    }

    func testDatabaseURLFallsBackToDATABASE_URL() throws {
        XCTAssertEqual(try Environment(["DATABASE_URL": "a"]).databaseURL(preferring: "X_URL"), "a")
        XCTAssertEqual(try Environment(["DATABASE_URL": "a", "X_URL": "b"]).databaseURL(preferring: "X_URL"), "b")
        XCTAssertThrowsError(try Environment([:]).databaseURL(preferring: "X_URL"))
    }
}
