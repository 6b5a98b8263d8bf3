import OpenSSLCrypto
import Foundation

/// A PREFLIGHT_JWT key: Ed25519, with a `kid` derived from its public key. The sync holds
/// the private PEM files (`CONTROLPLANE_JWT_KEY_FILES`, comma-separated; the first signs);
/// controlplaned holds only their public halves (`CONTROLPLANE_JWT_PUBLIC_KEY_FILES`) and
/// publishes them all in the JWKS, so the next key can be published before it signs.
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

    /// The sync's keys: private PEM files (`CONTROLPLANE_JWT_KEY_FILES`); the first signs.
    public static func load(_ environment: Environment) throws -> [SigningKey] {
        try keys(environment, setting: "CONTROLPLANE_JWT_KEY_FILES", private: true)
    }

    /// controlplaned's keys: public PEM files only (`CONTROLPLANE_JWT_PUBLIC_KEY_FILES`), which
    /// it publishes as the JWKS. The internet-facing process never holds a key that can sign:
    /// a private key in that list, or the private setting itself, stops it at start.
    public static func loadPublic(_ environment: Environment) throws -> [SigningKey] {
        if let privateList = environment["CONTROLPLANE_JWT_KEY_FILES"], !privateList.isEmpty {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_JWT_KEY_FILES",
                                             expected: "unset: controlplaned takes public keys only (CONTROLPLANE_JWT_PUBLIC_KEY_FILES)")
        }
        return try keys(environment, setting: "CONTROLPLANE_JWT_PUBLIC_KEY_FILES", private: false)
    }

    private static func keys(_ environment: Environment, setting: String, private wantPrivate: Bool) throws -> [SigningKey] {
        guard let list = environment[setting], !list.isEmpty else { return [] }
        return try list.split(separator: ",").map { part in
            let path = part.trimmingCharacters(in: .whitespaces)
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigurationError.unreadable(path) }
            let key: Ed25519Key
            do {
                key = try Ed25519Key.fromPEM(pem)
            } catch {
                throw ConfigurationError.invalid(key: setting, expected: "PEM Ed25519 keys (\(path) is not)")
            }
            guard key.hasPrivateKey == wantPrivate else {
                throw ConfigurationError.invalid(key: setting, expected: wantPrivate
                    ? "private PEM keys (\(path) is a public key)"
                    : "public PEM keys (\(path) is a private key: keep it with the sync)")
            }
            return SigningKey(key: key)
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
