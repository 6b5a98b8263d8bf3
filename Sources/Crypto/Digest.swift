import COpenSSL

/// SHA-256 over libcrypto's EVP interface.
public enum SHA256 {
    public static let byteCount = 32

    public static func hash<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var out = [UInt8](repeating: 0, count: byteCount)
        var outLength: UInt32 = 0
        let ok = data.withContiguousStorageIfAvailable { buffer in
            EVP_Digest(buffer.baseAddress, buffer.count, &out, &outLength, EVP_sha256(), nil)
        } ?? Array(data).withUnsafeBufferPointer { buffer in
            EVP_Digest(buffer.baseAddress, buffer.count, &out, &outLength, EVP_sha256(), nil)
        }
        precondition(ok == 1 && outLength == byteCount, "EVP_Digest(SHA-256) failed")
        return out
    }

    public static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }
}

/// HMAC-SHA256 (RFC 2104) over libcrypto's EVP_Q_mac.
public enum HMACSHA256 {
    public static func authenticationCode<K: Collection, M: Collection>(key: K, message: M) -> [UInt8]
    where K.Element == UInt8, M.Element == UInt8 {
        let keyBytes = Array(key)
        let messageBytes = Array(message)
        var out = [UInt8](repeating: 0, count: SHA256.byteCount)
        var outLength = 0
        let result = keyBytes.withUnsafeBufferPointer { k in
            messageBytes.withUnsafeBufferPointer { m in
                out.withUnsafeMutableBufferPointer { o in
                    EVP_Q_mac(nil, "HMAC", nil, "SHA256", nil,
                              k.baseAddress ?? UnsafePointer(bitPattern: 1), k.count,
                              m.baseAddress ?? UnsafePointer(bitPattern: 1), m.count,
                              o.baseAddress, o.count, &outLength)
                }
            }
        }
        precondition(result != nil && outLength == SHA256.byteCount, "EVP_Q_mac(HMAC-SHA256) failed")
        return out
    }
}
