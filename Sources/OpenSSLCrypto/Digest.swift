import COpenSSL

/// SHA-256 over libcrypto's EVP interface, with the algorithm fetched once: OpenSSL 3
/// otherwise looks it up again on every call, which costs more than hashing a short input.
public enum SHA256 {
    public static let byteCount = 32
    public static let blockSize = 64

    /// Fetched once, then shared by every thread (an EVP_MD is immutable after the fetch).
    nonisolated(unsafe) static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("libcrypto has no SHA256") }
        return md
    }()

    public static func hash<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        if let result = data.withContiguousStorageIfAvailable({ hash(buffer: UnsafeRawBufferPointer($0)) }) { return result }
        return Array(data).withUnsafeBytes { hash(buffer: $0) }
    }

    public static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }

    static func hash(buffer: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        var outLength: UInt32 = 0
        let ok = EVP_Digest(buffer.baseAddress, buffer.count, &out, &outLength, algorithm, nil)
        precondition(ok == 1 && outLength == byteCount, "EVP_Digest(SHA-256) failed")
        return out
    }

    /// SHA-256 of several parts, as if concatenated.
    static func hash(parts: [UnsafeRawBufferPointer]) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(context) }
        var out = [UInt8](repeating: 0, count: byteCount)
        var outLength: UInt32 = 0
        var ok = EVP_DigestInit_ex(context, algorithm, nil)
        for part in parts where ok == 1 { ok = EVP_DigestUpdate(context, part.baseAddress, part.count) }
        if ok == 1 { ok = EVP_DigestFinal_ex(context, &out, &outLength) }
        precondition(ok == 1 && outLength == byteCount, "SHA-256 failed")
        return out
    }
}

/// HMAC-SHA256 (RFC 2104) over the prefetched SHA-256.
public enum HMACSHA256 {
    public static func authenticationCode<K: Collection, M: Collection>(key: K, message: M) -> [UInt8]
    where K.Element == UInt8, M.Element == UInt8 {
        var block = Array(key)
        if block.count > SHA256.blockSize { block = SHA256.hash(block) }
        block += [UInt8](repeating: 0, count: SHA256.blockSize - block.count)
        let inner = block.map { $0 ^ 0x36 }
        let outer = block.map { $0 ^ 0x5c }
        let messageBytes = Array(message)
        let innerHash = inner.withUnsafeBytes { i in
            messageBytes.withUnsafeBytes { m in SHA256.hash(parts: [i, m]) }
        }
        return outer.withUnsafeBytes { o in
            innerHash.withUnsafeBytes { h in SHA256.hash(parts: [o, h]) }
        }
    }
}
