import COpenSSL

public enum Ed25519Error: Error, CustomStringConvertible {
    case invalidKey(String)
    case operationFailed(String)

    public var description: String {
        switch self {
        case .invalidKey(let why): "invalid Ed25519 key: \(why)"
        case .operationFailed(let what): "Ed25519 \(what) failed"
        }
    }
}

/// An Ed25519 key (private, or public only) held by libcrypto; freed with the value.
public final class Ed25519Key: @unchecked Sendable {
    private let key: OpaquePointer
    public let hasPrivateKey: Bool

    private init(_ key: OpaquePointer, hasPrivateKey: Bool) {
        self.key = key
        self.hasPrivateKey = hasPrivateKey
    }

    deinit { EVP_PKEY_free(key) }

    public static func generate() throws -> Ed25519Key {
        guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else { throw Ed25519Error.operationFailed("keygen") }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key else {
            throw Ed25519Error.operationFailed("keygen")
        }
        return Ed25519Key(key, hasPrivateKey: true)
    }

    /// Reads a PEM private key (PKCS#8) or public key (SubjectPublicKeyInfo).
    public static func fromPEM(_ pem: String) throws -> Ed25519Key {
        let bytes = Array(pem.utf8)
        let isPrivate = pem.contains("PRIVATE KEY")
        let key: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return isPrivate ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let key else { throw Ed25519Error.invalidKey("not a PEM key") }
        guard EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(key)
            throw Ed25519Error.invalidKey("not an Ed25519 key")
        }
        return Ed25519Key(key, hasPrivateKey: isPrivate)
    }

    public static func fromRawPrivateKey(_ raw: [UInt8]) throws -> Ed25519Key {
        guard raw.count == 32, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            throw Ed25519Error.invalidKey("a raw private key is 32 bytes")
        }
        return Ed25519Key(key, hasPrivateKey: true)
    }

    public static func fromRawPublicKey(_ raw: [UInt8]) throws -> Ed25519Key {
        guard raw.count == 32, let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            throw Ed25519Error.invalidKey("a raw public key is 32 bytes")
        }
        return Ed25519Key(key, hasPrivateKey: false)
    }

    public var rawPublicKey: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        _ = EVP_PKEY_get_raw_public_key(key, &out, &length)
        return out
    }

    public func privateKeyPEM() throws -> String {
        guard hasPrivateKey else { throw Ed25519Error.invalidKey("no private key") }
        return try withMemoryBIO { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    }

    public func publicKeyPEM() throws -> String {
        try withMemoryBIO { PEM_write_bio_PUBKEY($0, key) }
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        guard hasPrivateKey else { throw Ed25519Error.invalidKey("no private key") }
        guard let context = EVP_MD_CTX_new() else { throw Ed25519Error.operationFailed("sign") }
        defer { EVP_MD_CTX_free(context) }
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        guard EVP_DigestSignInit(context, nil, nil, nil, key) == 1,
              EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw Ed25519Error.operationFailed("sign")
        }
        return signature
    }

    public func verify(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        guard signature.count == 64, let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else { return false }
        return EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
    }

    private func withMemoryBIO(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Ed25519Error.operationFailed("PEM encoding") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw Ed25519Error.operationFailed("PEM encoding") }
        var pointer: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
        guard length > 0, let pointer else { throw Ed25519Error.operationFailed("PEM encoding") }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }
}
