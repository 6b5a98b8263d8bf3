import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// A 16-byte hex id in the shape of nginx's `$request_id`, for requests that arrive
/// without one (a direct FastCGI client, a test).
public enum TraceID {
    /// A client's trace id as nginx accepts it: 1–128 of `A-Za-z0-9._:-`.
    public static func sane(_ text: String) -> String? {
        let ok = (1...128).contains(text.utf8.count) && text.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 58 || c == 45
        }
        return ok ? text : nil
    }

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

/// W3C Trace Context (`traceparent: 00-<trace-id>-<parent-id>-<flags>`).
public enum Traceparent {
    /// The trace-id of a valid version-00 `traceparent` (32 lowercase hex digits, not all
    /// zeros, with a parent-id that is not all zeros), else nil.
    public static func traceId(_ header: String?) -> String? {
        guard let header else { return nil }
        let b = Array(header.utf8)
        func hex(_ range: Range<Int>) -> Bool { b[range].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) } }
        func zeros(_ range: Range<Int>) -> Bool { b[range].allSatisfy { $0 == 48 } }
        guard b.count == 55, b[0] == 48, b[1] == 48, b[2] == 45, b[35] == 45, b[52] == 45,
              hex(3..<35), hex(36..<52), hex(53..<55), !zeros(3..<35), !zeros(36..<52) else { return nil }
        return String(decoding: b[3..<35], as: UTF8.self)
    }
}
