import COpenSSL

/// Bytes from OpenSSL's CSPRNG.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
        // Without randomness no token or code may be issued: stopping is the only safe answer.
        precondition(ok == 1, "RAND_bytes failed")
        return out
    }

    /// A uniform integer in 0..<upperBound, by rejection sampling (no modulo bias).
    public static func uniform(below upperBound: UInt32) -> UInt32 {
        precondition(upperBound > 0)
        let limit = UInt32.max - (UInt32.max % upperBound)
        while true {
            let b = bytes(4)
            let value = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
            if value < limit { return value % upperBound }
        }
    }
}

/// Comparison whose time depends only on the length, never on where the inputs differ.
public func constantTimeEquals<A: Collection, B: Collection>(_ a: A, _ b: B) -> Bool
where A.Element == UInt8, B.Element == UInt8 {
    let left = Array(a), right = Array(b)
    guard left.count == right.count else { return false }
    if left.isEmpty { return true }
    return left.withUnsafeBytes { l in
        right.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
    }
}
