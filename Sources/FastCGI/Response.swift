import Dispatch
/// An HTTP response: status, header fields and the body bytes.
public struct Response: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    /// Set when the answer comes later, from another thread (see `later`).
    public var deferred: Deferred?

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// An answer that another thread gives when it is ready: the server hands the request's
    /// connection to `start`'s callback and the worker thread takes the next request at once.
    /// (The email check waits for its group commit this way, so a batch can hold more rows
    /// than there are worker threads.) The callback must be called exactly once.
    public final class Deferred: Sendable {
        public let start: @Sendable (_ finish: @escaping @Sendable (Response) -> Void) -> Void
        init(start: @escaping @Sendable (_ finish: @escaping @Sendable (Response) -> Void) -> Void) { self.start = start }
    }

    public static func later(_ start: @escaping @Sendable (_ finish: @escaping @Sendable (Response) -> Void) -> Void) -> Response {
        var response = Response(status: 0)
        response.deferred = Deferred(start: start)
        return response
    }

    /// The final response, waiting for a deferred one (for callers without a server: tests).
    public func resolved() -> Response {
        guard let deferred else { return self }
        let done = DispatchSemaphore(value: 0)
        let box = ResolvedBox()
        deferred.start { response in
            box.response = response
            done.signal()
        }
        done.wait()
        return box.response!.resolved()
    }

    /// The CGI response head libfcgi passes to nginx: `Status:` then the fields.
    func serializedHead(includeContentLength: Bool) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(128)
        out.append(contentsOf: Array("Status: \(status) \(HTTPStatus.reasonPhrase(status))\r\n".utf8))
        for (name, value) in headers {
            // A field with CR or LF would let a value forge headers: drop it whole.
            if name.utf8.contains(where: { $0 == 13 || $0 == 10 }) || value.utf8.contains(where: { $0 == 13 || $0 == 10 }) {
                continue
            }
            out.append(contentsOf: Array(name.utf8))
            out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            out.append(contentsOf: Array(value.utf8))
            out.append(contentsOf: [13, 10])
        }
        if includeContentLength && !headers.contains("content-length") {
            out.append(contentsOf: Array("content-length: \(body.count)\r\n".utf8))
        }
        out.append(contentsOf: [13, 10])
        return out
    }
}

public enum HTTPStatus {
    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }
}

private final class ResolvedBox: @unchecked Sendable {  // written before the signal, read after the wait
    var response: Response?
}
