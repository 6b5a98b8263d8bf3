import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// A 16-byte hex id in the shape of nginx's `$request_id`, for requests that arrive
/// without one (a direct FastCGI client, a test).
public enum TraceID {
    public static func make() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        _ = bytes.withUnsafeMutableBytes { getrandom($0.baseAddress, 16, 0) }
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(32)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
