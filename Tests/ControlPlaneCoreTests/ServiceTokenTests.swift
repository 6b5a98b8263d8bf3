@testable import ControlPlaneCore
import OpenSSLCrypto
import XCTest

final class ServiceTokenTests: XCTestCase {
    func testServiceTokenShape() {
        let token = ServiceToken.generate()
        XCTAssertTrue(ServiceToken.isWellFormed(token))
        XCTAssertFalse(ServiceToken.isWellFormed(token + "x"))
        XCTAssertFalse(ServiceToken.isWellFormed("cpst_" + String(repeating: "!", count: 43)))
        XCTAssertEqual(token.utf8.count, 54)
        XCTAssertEqual(ServiceToken.shape(token), .checked)
        XCTAssertEqual(ServiceToken.shape(String(token.dropLast(6))), .legacy)  // tokens from before checksums
        // Any one character changed breaks the checksum (a typo), in the random part or the checksum.
        for index in [5, 20, 47, 48, 53] {
            var bytes = Array(token.utf8)
            bytes[index] = bytes[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            XCTAssertEqual(ServiceToken.shape(String(decoding: bytes, as: UTF8.self)), .badChecksum, "changed at \(index)")
        }
        XCTAssertEqual(ServiceToken.shape("cpst_" + String(repeating: "A", count: 50)), .malformed)
        // The recipe the README gives secret scanners.
        XCTAssertEqual(String(token.suffix(6)), String(Base64.encode(SHA256.hash(Array(token.prefix(48).utf8)), url: true).prefix(6)))
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
