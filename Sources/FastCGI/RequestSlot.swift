import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// One thread's libfcgi request: the only place that touches libfcgi's pointers.
final class RequestSlot {
    private let raw: UnsafeMutablePointer<FCGX_Request>

    init(listenDescriptor: Int32) {
        raw = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        raw.initialize(to: FCGX_Request())
        FCGX_InitRequest(raw, listenDescriptor, 0)
    }

    deinit {
        FCGX_Free(raw, 1)
        raw.deinitialize(count: 1)
        raw.deallocate()
    }

    /// True while nginx keeps the connection of the last request open (FCGI_KEEP_CONN).
    var holdsKeptConnection: Bool { raw.pointee.ipcFd >= 0 }

    /// 0 on a request, else a negative errno (a lost race for a connection gives -EAGAIN).
    func accept() -> Int32 { FCGX_Accept_r(raw) }

    func finish() { FCGX_Finish_r(raw) }

    /// Copies the params and reads the body (up to the cap) before libfcgi frees them.
    func readRequest(maxBodyBytes: Int) -> Request {
        var method = "GET", path = "", query = "", remote = "", trace = ""
        var documentURI: String?, requestURI: String?
        var contentLength: String?
        var headers = HTTPHeaders()
        if var cursor = raw.pointee.envp {
            while let entry = cursor.pointee {
                let param = String(cString: entry)
                cursor += 1
                guard let eq = param.utf8.firstIndex(of: UInt8(ascii: "=")) else { continue }
                let name = param[..<eq]
                let value = String(param[param.utf8.index(after: eq)...])
                switch name {
                case "REQUEST_METHOD": method = value
                case "DOCUMENT_URI": documentURI = value
                case "REQUEST_URI": requestURI = value
                case "QUERY_STRING": query = value
                case "REMOTE_ADDR": remote = value
                case "TRACE_ID": trace = value
                case "CONTENT_LENGTH": contentLength = value
                case "CONTENT_TYPE": if !value.isEmpty { headers.add("content-type", value) }
                default:
                    if name.hasPrefix("HTTP_") {
                        headers.add(Self.headerName(fromParam: name.dropFirst(5)), value)
                    }
                }
            }
        }
        if let documentURI { path = documentURI } else if let requestURI {
            path = String(requestURI.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        }
        if trace.isEmpty { trace = TraceID.make() }
        var request = Request(method: method, path: path, query: query, headers: headers,
                              remoteAddress: remote, traceId: trace)
        readBody(into: &request, contentLength: contentLength, maxBodyBytes: maxBodyBytes)
        return request
    }

    private func readBody(into request: inout Request, contentLength: String?, maxBodyBytes: Int) {
        guard let contentLength, !contentLength.isEmpty else { return }
        guard let length = Int(contentLength), length >= 0 else {
            request.bodyProblem = .invalidLength
            return
        }
        guard length <= maxBodyBytes else {
            request.bodyProblem = .tooLarge(limit: maxBodyBytes)
            return
        }
        guard length > 0 else { return }
        var body = [UInt8](repeating: 0, count: length)
        var received = 0
        body.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: length) { base in
                while received < length {
                    let n = FCGX_GetStr(base + received, Int32(length - received), raw.pointee.in)
                    if n <= 0 { break }
                    received += Int(n)
                }
            }
        }
        if received < length {
            request.bodyProblem = .incomplete(expected: length, received: received)
            return
        }
        request.body = body
    }

    /// `X_TRACE_ID` → `x-trace-id`.
    static func headerName(fromParam name: Substring) -> String {
        var bytes = Array(name.utf8)
        for i in bytes.indices {
            switch bytes[i] {
            case UInt8(ascii: "_"): bytes[i] = UInt8(ascii: "-")
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes[i] += 32
            default: break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the whole response; false when the peer is gone (the request was aborted).
    func write(_ response: Response, headOnly: Bool) -> Bool {
        let head = response.serializedHead(includeContentLength: true)
        var ok = put(head)
        if ok && !headOnly && !response.body.isEmpty { ok = put(response.body) }
        return ok
    }

    private func put(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { base in
                FCGX_PutStr(base, Int32(buffer.count), raw.pointee.out) == Int32(buffer.count)
            }
        }
    }
}
