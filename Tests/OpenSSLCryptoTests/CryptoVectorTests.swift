import XCTest
@testable import OpenSSLCrypto

/// Published test vectors: FIPS 180-2 appendix B (SHA-256), RFC 4231 (HMAC-SHA256),
/// RFC 4648 §10 (base64).
final class CryptoVectorTests: XCTestCase {
    func testSHA256FIPS180Vectors() {
        XCTAssertEqual(Hex.encode(SHA256.hash("")),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(Hex.encode(SHA256.hash("abc")),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Hex.encode(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(Hex.encode(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testHMACSHA256RFC4231Vectors() {
        let cases: [(key: [UInt8], data: [UInt8], mac: String)] = [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (Array(1...25), [UInt8](repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ([UInt8](repeating: 0xaa, count: 131),
             Array("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".utf8),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ]
        for (key, data, mac) in cases {
            XCTAssertEqual(Hex.encode(HMACSHA256.authenticationCode(key: key, message: data)), mac)
        }
        // RFC 4231 test case 5 truncates the output to 128 bits.
        let truncated = HMACSHA256.authenticationCode(key: [UInt8](repeating: 0x0c, count: 20),
                                                      message: Array("Test With Truncation".utf8)).prefix(16)
        XCTAssertEqual(Hex.encode(truncated), "a3b6167473100ee06e0c796c2955552b")
    }

    func testBase64RFC4648Vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==",
                       "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8))
            let url = encoded.replacingOccurrences(of: "=", with: "")
            XCTAssertEqual(Base64.encode(Array(plain.utf8), url: true), url)
            XCTAssertEqual(Base64.decode(url, url: true), Array(plain.utf8))
        }
        XCTAssertEqual(Base64.encode([0xfb, 0xff, 0xbf], url: true), "-_-_")
        XCTAssertEqual(Base64.encode([0xfb, 0xff, 0xbf]), "+/+/")
    }

    func testBase64RejectsMalformedInput() {
        XCTAssertNil(Base64.decode("Zm9vYg="))      // padding does not complete a quantum
        XCTAssertNil(Base64.decode("Zm9vYg"))       // standard alphabet requires padding
        XCTAssertNil(Base64.decode("Zm9v!mFy"))     // character outside the alphabet
        XCTAssertNil(Base64.decode("Zh=="))         // non-zero trailing bits
        XCTAssertNil(Base64.decode("-_-_"))         // url characters in standard base64
        XCTAssertNil(Base64.decode("+/+/", url: true))
        XCTAssertNil(Base64.decode("Z", url: true))
    }

    func testHexRoundTripAndRejects() {
        XCTAssertEqual(Hex.decode("00ff10Ab"), [0x00, 0xff, 0x10, 0xab])
        XCTAssertEqual(Hex.encode([0x00, 0xff, 0x10, 0xab]), "00ff10ab")
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }

    func testConstantTimeEquals() {
        XCTAssertTrue(constantTimeEquals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        XCTAssertFalse(constantTimeEquals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        XCTAssertTrue(constantTimeEquals([UInt8](), [UInt8]()))
    }

    func testRandomBytesDiffer() {
        let a = SecureRandom.bytes(32), b = SecureRandom.bytes(32)
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        for _ in 0..<1000 { XCTAssertLessThan(SecureRandom.uniform(below: 10), 10) }
    }
}
