import OpenSSLCrypto

/// The keys that keep reusable secrets (webhook signing secrets) encrypted at rest, with
/// AES-256-GCM. `CONTROLPLANE_SECRETS_KEYS` (or its `…_FILE`, or the systemd credential
/// `controlplane-secrets-keys`) lists base64 keys of 32 bytes: the first seals, every one
/// opens. Rotation: put a new key first, run `cpctl secrets reseal`, then drop the old one.
/// A sealed value is the key's id (8 bytes of its SHA-256) ‖ nonce ‖ ciphertext ‖ tag, bound
/// to its row by the associated data, so it cannot be copied onto another row.
public struct SecretKeyRing: Sendable {
    struct Key: Sendable { let id: [UInt8], bytes: [UInt8] }
    let keys: [Key]

    public static let setting = "CONTROLPLANE_SECRETS_KEYS"

    public enum Failure: Error, Equatable { case unknownKey, unreadable }

    public init(keys: [[UInt8]]) {
        self.keys = keys.map { Key(id: Array(SHA256.hash($0).prefix(8)), bytes: $0) }
    }

    /// The ring from the environment, or nil when no key is configured.
    public static func load(_ environment: Environment) throws -> SecretKeyRing? {
        guard let text = try environment.secret(setting) else { return nil }
        let parts = text.split(whereSeparator: { $0 == "," || $0.isWhitespace })
        let keys = try parts.map { part -> [UInt8] in
            guard let key = Base64.decode(String(part)), key.count == AESGCM.keyCount else {
                throw ConfigurationError.invalid(key: setting, expected: "base64 keys of 32 bytes, comma-separated (the first seals)")
            }
            return key
        }
        return keys.isEmpty ? nil : SecretKeyRing(keys: keys)
    }

    public static func generateKey() -> String { Base64.encode(SecureRandom.bytes(AESGCM.keyCount)) }

    public func seal(_ secret: String, row: String) throws -> [UInt8] {
        let primary = keys[0]
        return primary.id + (try AESGCM.seal(Array(secret.utf8), key: primary.bytes, associatedData: Array(row.utf8)))
    }

    public func open(_ sealed: [UInt8], row: String) throws -> String {
        guard sealed.count > 8, let key = keys.first(where: { $0.id == Array(sealed.prefix(8)) }) else { throw Failure.unknownKey }
        guard let plain = try? AESGCM.open(Array(sealed.dropFirst(8)), key: key.bytes, associatedData: Array(row.utf8)),
              let text = String(validating: plain, as: UTF8.self) else { throw Failure.unreadable }
        return text
    }

    /// Sealed under another key than the first: `cpctl secrets reseal` rewrites it.
    public func isSealedUnderPrimary(_ sealed: [UInt8]) -> Bool { Array(sealed.prefix(8)) == keys[0].id }
}
