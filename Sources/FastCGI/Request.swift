#if canImport(Glibc)
import Glibc
#endif

/// Why a request's body was not read.
public enum RequestBodyProblem: Sendable, Equatable {
    case tooLarge(limit: Int)
    case invalidLength
    case incomplete(expected: Int, received: Int)
}

/// One HTTP request as nginx hands it over FastCGI, copied out of libfcgi's buffers.
public struct Request: Sendable {
    public var method: String
    /// The normalized path nginx routed on (`DOCUMENT_URI`), without the query.
    public var path: String
    /// The raw query string, without `?`.
    public var query: String
    public var headers: HTTPHeaders
    public var remoteAddress: String
    /// The trace id nginx passes (`TRACE_ID`), else one made here.
    public var traceId: String
    public var body: [UInt8]
    public var bodyProblem: RequestBodyProblem?
    /// Monotonic nanoseconds when the request was accepted.
    public var receivedAt: UInt64
    /// The client reached nginx over TLS (`HTTPS=on`).
    public var isTLS = false
    /// The operator nginx authenticated (`PROXY_OPERATOR`, a FastCGI parameter no client can
    /// set); the console trusts it only when configured to.
    public var proxyOperator: String?

    public init(method: String, path: String, query: String = "", headers: HTTPHeaders = HTTPHeaders(),
                remoteAddress: String = "", traceId: String = "", body: [UInt8] = [],
                bodyProblem: RequestBodyProblem? = nil, receivedAt: UInt64 = MonotonicClock.nanoseconds()) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.remoteAddress = remoteAddress
        self.traceId = traceId
        self.body = body
        self.bodyProblem = bodyProblem
        self.receivedAt = receivedAt
    }

    /// Query parameters, percent-decoded (`+` is a space); a malformed escape is kept as sent.
    /// Split on the bytes `&` and `=`, not on Characters (a combining mark would fuse with them).
    public var queryItems: [(name: String, value: String)] {
        guard !query.isEmpty else { return [] }
        return query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).map { pair in
            if let eq = pair.firstIndex(of: UInt8(ascii: "=")) {
                return (PercentDecoding.decode(Substring(pair[..<eq])), PercentDecoding.decode(Substring(pair[pair.index(after: eq)...])))
            }
            return (PercentDecoding.decode(Substring(pair)), "")
        }
    }

    public func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }
}

public enum PercentDecoding {
    public static func decode(_ text: Substring) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.utf8.count)
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            let c = utf8[i]
            if c == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " ")); i += 1
            } else if c == UInt8(ascii: "%"), i + 2 < utf8.count {
                if let hi = hexValue(utf8[i + 1]), let lo = hexValue(utf8[i + 2]) {
                    bytes.append(hi << 4 | lo); i += 3
                } else {
                    bytes.append(c); i += 1
                }
            } else {
                bytes.append(c); i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}

public enum MonotonicClock {
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
