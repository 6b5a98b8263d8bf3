import CCurl

/// One HTTP request over libcurl with the limits a delivery needs: an absolute deadline for
/// the whole transfer (a peer that dribbles bytes cannot hold it), a cap on the answer's
/// size, no redirects, http(s) only — and, for webhook receivers, a connection to the exact
/// addresses that passed the destination check (`pinnedAddresses`, through CURLOPT_RESOLVE), so
/// a DNS answer that changes between the check and the connection is never followed.
public enum HTTPTransfer {
    public struct Result: Sendable {
        public var status: Int?
        /// Lower-case names; the last value of a repeated header.
        public var headers: [String: String] = [:]
        public var body: [UInt8] = []
        /// What went wrong on the way, worded for a delivery log (no internals of the network).
        public var error: String?
        public var durationMs = 0

        public init(status: Int? = nil, error: String? = nil) {
            self.status = status
            self.error = error
        }
    }

    public static func send(method: String, url: String, headers: [(String, String)], body: [UInt8],
                            timeoutSeconds: Double, maxResponseBytes: Int = 64 * 1024,
                            pinnedAddresses: (host: String, port: Int, addresses: [String])? = nil,
                            caFile: String? = nil) -> Result {
        _ = globalInit
        let started = monotonicMilliseconds()
        var result = Result()
        guard let curl = curl_easy_init() else { return Result(error: "libcurl could not start") }
        defer { curl_easy_cleanup(curl) }
        var headerList: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip
        defer { curl_slist_free_all(headerList) }
        var resolveList: UnsafeMutablePointer<curl_slist>?
        if let pin = pinnedAddresses, !pin.addresses.isEmpty {
            // "host:port:addr1,[addr2]": libcurl tries these (IPv6 in brackets) and nothing else.
            let addresses = pin.addresses.map { $0.contains(":") ? "[\($0)]" : $0 }.joined(separator: ",")
            resolveList = curl_slist_append(nil, "\(pin.host):\(pin.port):\(addresses)")
        }
        defer { curl_slist_free_all(resolveList) }
        let sink = ResponseSink(limit: maxResponseBytes)
        let unmanaged = Unmanaged.passRetained(sink)
        defer { unmanaged.release() }
        let milliseconds = max(1, Int(timeoutSeconds * 1000))

        let code: CURLcode = body.withUnsafeBufferPointer { payload in
            cpcurl_setopt_string(curl, CURLOPT_URL, url)
            cpcurl_setopt_string(curl, CURLOPT_CUSTOMREQUEST, method)
            cpcurl_setopt_long(curl, CURLOPT_POST, method == "GET" ? 0 : 1)
            cpcurl_setopt_pointer(curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: payload.baseAddress))
            cpcurl_setopt_off_t(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(payload.count))
            cpcurl_setopt_pointer(curl, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
            if resolveList != nil { cpcurl_setopt_pointer(curl, CURLOPT_RESOLVE, UnsafeMutableRawPointer(resolveList)) }
            cpcurl_setopt_string(curl, CURLOPT_PROTOCOLS_STR, "http,https")
            // Certificates are verified against this bundle instead of the system's (a private CA).
            if let caFile { cpcurl_setopt_string(curl, CURLOPT_CAINFO, caFile) }
            cpcurl_setopt_long(curl, CURLOPT_FOLLOWLOCATION, 0)
            cpcurl_setopt_long(curl, CURLOPT_TIMEOUT_MS, milliseconds)
            cpcurl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT_MS, min(milliseconds, 10_000))
            cpcurl_setopt_long(curl, CURLOPT_NOSIGNAL, 1)
            cpcurl_setopt_write_function(curl) { data, size, count, context in
                Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().append(data!, size * count)
            }
            cpcurl_setopt_pointer(curl, CURLOPT_WRITEDATA, unmanaged.toOpaque())
            cpcurl_setopt_header_function(curl) { data, size, count, context in
                Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue().header(data!, size * count)
            }
            cpcurl_setopt_pointer(curl, CURLOPT_HEADERDATA, unmanaged.toOpaque())
            return curl_easy_perform(curl)
        }
        let status = cpcurl_response_code(curl)
        if status > 0 { result.status = Int(status) }
        result.headers = sink.headers
        result.body = sink.body
        if code != CURLE_OK {
            result.error = switch code {
            case CURLE_OPERATION_TIMEDOUT: "timed out after \(milliseconds) ms"
            case CURLE_WRITE_ERROR where sink.overflowed: "answer larger than \(maxResponseBytes) bytes"
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST: "could not connect"
            case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION: "TLS handshake failed"
            default: "transfer failed"
            }
        }
        result.durationMs = monotonicMilliseconds() - started
        return result
    }

    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    private static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1000 + Int(now.tv_nsec) / 1_000_000
    }
}

/// Collects the answer up to its cap (a larger one aborts the transfer) and its headers.
final class ResponseSink {
    private let limit: Int
    private(set) var body: [UInt8] = []
    private(set) var headers: [String: String] = [:]
    private(set) var overflowed = false

    init(limit: Int) { self.limit = limit }

    func append(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
        guard body.count + count <= limit else { overflowed = true; return 0 }  // short count: libcurl stops
        data.withMemoryRebound(to: UInt8.self, capacity: count) { body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count)) }
        return count
    }

    func header(_ data: UnsafeMutablePointer<CChar>, _ count: Int) -> Int {
        let line = data.withMemoryRebound(to: UInt8.self, capacity: count) { String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self) }
        if line.hasPrefix("HTTP/") { headers = [:] }  // a new response (after 1xx): its own headers
        if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            if headers.count < 100 { headers[name] = value }
        }
        return count
    }
}
