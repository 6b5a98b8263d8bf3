@testable import ControlPlaneCore
import OpenSSLCrypto
import XCTest

final class ServiceTokenTests: XCTestCase {
    func testServiceTokenShape() {
        let token = ServiceToken.generate()
        XCTAssertTrue(ServiceToken.isWellFormed(token))
        XCTAssertFalse(ServiceToken.isWellFormed(token + "x"))
        XCTAssertFalse(ServiceToken.isWellFormed("cpst_" + String(repeating: "!", count: 43)))
        XCTAssertEqual(ServiceToken.bearer(from: "Bearer abc"), "abc")
        XCTAssertEqual(ServiceToken.bearer(from: "bearer   abc "), "abc")
        XCTAssertNil(ServiceToken.bearer(from: "Basic abc"))
        XCTAssertNil(ServiceToken.bearer(from: "Bearer"))
        XCTAssertNil(ServiceToken.bearer(from: "Bearer   "))
        XCTAssertNil(ServiceToken.bearer(from: "Bearerabc"))
        XCTAssertNil(ServiceToken.bearer(from: ""))
        XCTAssertEqual(ServiceToken.bearer(from: " BEARER\tcpst_x\t"), "cpst_x")
        XCTAssertEqual(ServiceToken.bearer(from: "Bearer a b"), "a b")  // the caller's shape check refuses it
        XCTAssertEqual(try Scope.parseList("tenants:read, all").get().count, Scope.allCases.count)
        XCTAssertThrowsError(try Scope.parseList("tenants:read,root").get())
    }
}
