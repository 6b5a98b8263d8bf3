@testable import ControlPlaneHTTP
import XCTest

final class ConditionalResponseTests: XCTestCase {
    func testETagMatching() {
        XCTAssertTrue(DirectoryHandler.matches(#""abc""#, #""abc""#))
        XCTAssertTrue(DirectoryHandler.matches(#""x", W/"abc""#, #""abc""#))
        XCTAssertTrue(DirectoryHandler.matches("*", #""abc""#))
        XCTAssertFalse(DirectoryHandler.matches(#""abd""#, #""abc""#))
    }
}
