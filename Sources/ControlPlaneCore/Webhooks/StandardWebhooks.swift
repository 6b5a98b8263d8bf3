import OpenSSLCrypto
import Foundation

/// Signing and verification per the Standard Webhooks specification 1.0: the signed
/// content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the secret's
/// bytes, sent as `webhook-signature: v1,<base64>` (space-separated during rotation).
public enum StandardWebhooks {
    public static let secretPrefix = "whsec_"
    /// Accepted clock difference between signer and verifier.
    public static let toleranceSeconds = 300

    /// The key bytes of a `whsec_<base64>` secret (24 to 64 bytes), or nil.
    public static func key(fromSecret secret: String) -> [UInt8]? {
        guard secret.hasPrefix(secretPrefix), let key = Base64.decode(String(secret.dropFirst(secretPrefix.count))),
              (24...64).contains(key.count) else { return nil }
        return key
    }

    public static func generateSecret() -> String { secretPrefix + Base64.encode(SecureRandom.bytes(32)) }

    public static func signature(key: [UInt8], id: String, timestamp: Int, body: [UInt8]) -> String {
        var content = Array("\(id).\(timestamp).".utf8)
        content.append(contentsOf: body)
        return "v1," + Base64.encode(HMACSHA256.authenticationCode(key: key, message: content))
    }

    public enum VerificationFailure: Error, Equatable {
        case missingHeaders, malformedTimestamp, timestampOutOfTolerance, badSignature
    }

    /// Checks the three headers against the exact body bytes, in constant time per signature.
    public static func verify(key: [UInt8], id: String?, timestamp: String?, signatures: String?, body: [UInt8],
                              now: Int = Int(Date().timeIntervalSince1970)) -> Result<Void, VerificationFailure> {
        verify(keys: [key], id: id, timestamp: timestamp, signatures: signatures, body: body, now: now)
    }

    /// The same with several keys (a secret rotation): any key's signature passes.
    public static func verify(keys: [[UInt8]], id: String?, timestamp: String?, signatures: String?, body: [UInt8],
                              now: Int = Int(Date().timeIntervalSince1970)) -> Result<Void, VerificationFailure> {
        guard let id, !id.isEmpty, let timestamp, let signatures else { return .failure(.missingHeaders) }
        guard let seconds = Int(timestamp), timestamp.utf8.count <= 12 else { return .failure(.malformedTimestamp) }
        guard abs(now - seconds) <= toleranceSeconds else { return .failure(.timestampOutOfTolerance) }
        let candidates = signatures.split(separator: " ").filter { $0.hasPrefix("v1,") }.map { Array($0.utf8) }
        var matched = false
        for key in keys {
            let expected = Array(signature(key: key, id: id, timestamp: seconds, body: body).utf8)
            for candidate in candidates where constantTimeEquals(candidate, expected) { matched = true }
        }
        return matched ? .success(()) : .failure(.badSignature)
    }
}
