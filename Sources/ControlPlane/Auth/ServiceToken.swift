import Foundation
import Crypto

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

    /// The token from `Authorization: Bearer …`, if the header has that form.
    public static func bearer(from header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }
}
