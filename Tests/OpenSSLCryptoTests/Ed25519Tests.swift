import XCTest
@testable import OpenSSLCrypto

/// RFC 8032 §7.1 test vectors, and PEM round trips.
final class Ed25519Tests: XCTestCase {
    func testRFC8032Vectors() throws {
        let vectors: [(secret: String, public: String, message: String, signature: String)] = [
            ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
             "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
             "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
            ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
             "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
             "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ]
        for v in vectors {
            let key = try Ed25519Key.fromRawPrivateKey(Hex.decode(v.secret)!)
            XCTAssertEqual(Hex.encode(key.rawPublicKey), v.public)
            let signature = try key.sign(Hex.decode(v.message)!)
            XCTAssertEqual(Hex.encode(signature), v.signature)
            let publicOnly = try Ed25519Key.fromRawPublicKey(Hex.decode(v.public)!)
            XCTAssertTrue(publicOnly.verify(signature, for: Hex.decode(v.message)!))
            XCTAssertFalse(publicOnly.verify(signature, for: Hex.decode(v.message)! + [0]))
            XCTAssertThrowsError(try publicOnly.sign([1]))
        }
    }

    func testGeneratedKeysRoundTripThroughPEM() throws {
        let key = try Ed25519Key.generate()
        let pem = try key.privateKeyPEM()
        XCTAssertTrue(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let reloaded = try Ed25519Key.fromPEM(pem)
        XCTAssertEqual(reloaded.rawPublicKey, key.rawPublicKey)
        let publicPEM = try key.publicKeyPEM()
        let verifier = try Ed25519Key.fromPEM(publicPEM)
        XCTAssertFalse(verifier.hasPrivateKey)
        XCTAssertTrue(verifier.verify(try reloaded.sign([1, 2, 3]), for: [1, 2, 3]))
        XCTAssertThrowsError(try Ed25519Key.fromPEM("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
    }
}
