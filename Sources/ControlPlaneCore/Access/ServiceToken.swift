import Foundation
import OpenSSLCrypto

/// Service tokens: `cpst_` + 43 base64url characters (256 random bits) + a 6-character
/// checksum. Only the SHA-256 of a token is stored: with that much entropy a fast hash is
/// enough, and a lookup by hash reveals nothing about where a guess differs.
///
/// The checksum (the first 6 base64url characters of SHA-256 over the prefix and the random
/// part) lets secret scanners tell a real token from look-alikes, and lets the backend refuse a
/// mistyped or truncated token without a database lookup. Tokens made before it (prefix and 43
/// characters, no checksum) keep working.
public enum ServiceToken {
    public static let prefix = "cpst_"
    static let randomLength = 43, checksumLength = 6

    public static func generate() -> String {
        let body = prefix + Base64.encode(SecureRandom.bytes(32), url: true)
        return body + checksum(body)
    }

    static func checksum<S: StringProtocol>(_ body: S) -> String {
        String(Base64.encode(SHA256.hash(Array(body.utf8)), url: true).prefix(checksumLength))
    }

    public static func hash(_ token: String) -> [UInt8] { SHA256.hash(Array(token.utf8)) }

    public enum Shape: Equatable, Sendable {
        /// The current form, its checksum right.
        case checked
        /// The form from before checksums: prefix and 43 characters.
        case legacy
        /// The current form's length and alphabet, but the checksum does not match.
        case badChecksum
        case malformed
    }

    /// Shape check before any lookup, so junk and mistyped tokens never reach the database.
    public static func shape(_ token: String) -> Shape {
        let utf8 = token.utf8, head = prefix.utf8.count
        guard token.hasPrefix(prefix), utf8.dropFirst(head).allSatisfy(isBase64URL) else { return .malformed }
        switch utf8.count {
        case head + randomLength: return .legacy
        case head + randomLength + checksumLength:
            let body = token.utf8.prefix(head + randomLength)
            return checksum(Substring(body)) == String(Substring(token.utf8.suffix(checksumLength))) ? .checked : .badChecksum
        default: return .malformed
        }
    }

    public static func isWellFormed(_ token: String) -> Bool {
        let shape = shape(token)
        return shape == .checked || shape == .legacy
    }

    private static func isBase64URL(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95
    }

    private static let bearerScheme: [UInt8] = Array("bearer".utf8)

    /// The token from `Authorization: Bearer …`, if the header has that form. A byte scan
    /// (scheme case-insensitive, SP/HTAB around the credentials): it runs on every
    /// authenticated request, where Foundation's trimming showed up in profiles.
    public static func bearer(from header: String?) -> String? {
        guard let header else { return nil }
        let bytes = Array(header.utf8)
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        var start = 0
        while start < bytes.count && isSpace(bytes[start]) { start += 1 }
        guard bytes.count - start > bearerScheme.count else { return nil }
        for (offset, expected) in bearerScheme.enumerated() where bytes[start + offset] | 0x20 != expected { return nil }
        var from = start + bearerScheme.count
        guard isSpace(bytes[from]) else { return nil }
        while from < bytes.count && isSpace(bytes[from]) { from += 1 }
        var end = bytes.count
        while end > from && isSpace(bytes[end - 1]) { end -= 1 }
        guard end > from else { return nil }
        return String(decoding: bytes[from..<end], as: UTF8.self)
    }
}
