import Foundation
import OpenSSLCrypto

/// Service tokens: `cpst_` + 43 base64url characters (256 random bits). Only the SHA-256
/// of a token is stored: with that much entropy a fast hash is enough, and a lookup by
/// hash reveals nothing about where a guess differs.
public enum ServiceToken {
    public static let prefix = "cpst_"

    public static func generate() -> String {
        prefix + Base64.encode(SecureRandom.bytes(32), url: true)
    }

    public static func hash(_ token: String) -> [UInt8] { SHA256.hash(Array(token.utf8)) }

    /// Shape check before any lookup, so junk never reaches the database.
    public static func isWellFormed(_ token: String) -> Bool {
        let utf8 = token.utf8
        guard utf8.count == prefix.utf8.count + 43, token.hasPrefix(prefix) else { return false }
        return utf8.dropFirst(prefix.utf8.count).allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95
        }
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
