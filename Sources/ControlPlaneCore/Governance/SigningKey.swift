import OpenSSLCrypto
import Foundation

/// A PREFLIGHT_JWT key: Ed25519, with a `kid` derived from its public key. Configured
/// as PEM files (`CONTROLPLANE_JWT_KEY_FILES`, comma-separated): the first signs, all are
/// published in the JWKS, so the next key can be published before it signs.
public struct SigningKey: Sendable {
    public let kid: String
    public let key: Ed25519Key

    public init(key: Ed25519Key) {
        self.key = key
        kid = SigningKey.kid(for: key.rawPublicKey)
    }

    /// RFC 7638-style thumbprint of the OKP key, shortened: stable and distinct per key.
    public static func kid(for rawPublicKey: [UInt8]) -> String {
        let canonical = #"{"crv":"Ed25519","kty":"OKP","x":"\#(Base64.encode(rawPublicKey, url: true))"}"#
        return Base64.encode(SHA256.hash(canonical), url: true)
    }

    public static func load(_ environment: Environment) throws -> [SigningKey] {
        guard let list = environment["CONTROLPLANE_JWT_KEY_FILES"] else { return [] }
        return try list.split(separator: ",").map { part in
            let path = part.trimmingCharacters(in: .whitespaces)
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigurationError.unreadable(path) }
            do {
                return SigningKey(key: try Ed25519Key.fromPEM(pem))
            } catch {
                throw ConfigurationError.invalid(key: "CONTROLPLANE_JWT_KEY_FILES", expected: "PEM Ed25519 keys (\(path) is not)")
            }
        }
    }

    /// The JWKS document (RFC 7517 / RFC 8037) of the public halves.
    public static func jwks(_ keys: [SigningKey]) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("keys")
        json.beginArray()
        for key in keys {
            json.beginObject()
            json.key("kty"); json.string("OKP")
            json.key("crv"); json.string("Ed25519")
            json.key("x"); json.string(Base64.encode(key.key.rawPublicKey, url: true))
            json.key("kid"); json.string(key.kid)
            json.key("alg"); json.string("EdDSA")
            json.key("use"); json.string("sig")
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return json.bytes
    }
}
