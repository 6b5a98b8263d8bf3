@testable import OpenSSLCrypto
import XCTest

final class AESGCMTests: XCTestCase {
    func hex(_ text: String) -> [UInt8] { Hex.decode(text)! }

    /// McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 60-byte
    /// plaintext, 20 bytes of associated data).
    func testKnownAnswer() throws {
        let key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
        let plaintext = hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let nonce = hex("cafebabefacedbaddecaf888")
        let sealed = try AESGCM.seal(plaintext, key: key, associatedData: aad, nonce: nonce)
        XCTAssertEqual(Hex.encode(sealed.dropFirst(12).dropLast(16)),
                       "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
        XCTAssertEqual(Hex.encode(sealed.suffix(16)), "76fc6ece0f4e1768cddf8853bb2d551b")
        XCTAssertEqual(try AESGCM.open(sealed, key: key, associatedData: aad), plaintext)
    }

    func testTamperingWrongKeyAndOtherRowAreRefused() throws {
        let key = SecureRandom.bytes(32), other = SecureRandom.bytes(32)
        let sealed = try AESGCM.seal(Array("whsec_secret".utf8), key: key, associatedData: Array("row-1".utf8))
        XCTAssertNotEqual(sealed, try AESGCM.seal(Array("whsec_secret".utf8), key: key, associatedData: Array("row-1".utf8)))
        var flipped = sealed
        flipped[14] ^= 1
        XCTAssertThrowsError(try AESGCM.open(flipped, key: key, associatedData: Array("row-1".utf8)))
        XCTAssertThrowsError(try AESGCM.open(sealed, key: other, associatedData: Array("row-1".utf8)))
        XCTAssertThrowsError(try AESGCM.open(sealed, key: key, associatedData: Array("row-2".utf8)))
        XCTAssertThrowsError(try AESGCM.open(Array(sealed.prefix(20)), key: key, associatedData: []))
        XCTAssertThrowsError(try AESGCM.seal([1], key: [1, 2, 3], associatedData: []))
    }
}
