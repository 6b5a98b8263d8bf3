import OpenSSLCrypto

/// One-time codes: digits from the CSPRNG, stored only as HMAC(key, draft:generation:code).
public enum OneTimeCode {
    public static func generate(digits: Int = 6) -> String {
        var limit: UInt32 = 1
        for _ in 0..<digits { limit *= 10 }
        let value = SecureRandom.uniform(below: limit)
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    public static func hash(code: String, draftId: String, generation: Int, key: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: key, message: Array("otp:\(draftId):\(generation):\(code)".utf8))
    }
}
