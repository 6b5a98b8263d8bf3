#if canImport(Glibc)
import Glibc
#endif
import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// One thread's libfcgi request: the only place that touches libfcgi's pointers.
final class RequestSlot: @unchecked Sendable {  // used by one thread at a time, handed over through epoll
    private let raw: UnsafeMutablePointer<FCGX_Request>
    /// Index in the pool; carried in epoll events.
    let id: Int
    /// The descriptor this slot last registered with epoll (-1: none).
    var registeredDescriptor: Int32 = -1

    /// The connection descriptor (-1 when none).
    var connectionDescriptor: Int32 { raw.pointee.ipcFd }

    init(listenDescriptor: Int32, id: Int = 0) {
        self.id = id
        raw = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        raw.initialize(to: FCGX_Request())
        FCGX_InitRequest(raw, listenDescriptor, 0)
    }

    deinit {
        FCGX_Free(raw, 1)
        raw.deinitialize(count: 1)
        raw.deallocate()
    }

    /// The current request asked to keep the connection (FCGI_KEEP_CONN): never close it early.
    var holdsKeptConnectionAfterThisRequest: Bool { raw.pointee.keepConnection != 0 }

    /// 0 on a request, else a negative errno (a lost race for a connection gives -EAGAIN).
    func accept() -> Int32 { FCGX_Accept_r(raw) }

    func finish() { FCGX_Finish_r(raw) }

    /// Reads what is left of stdin (at most `limit` bytes); true when its end was reached.
    func drainInput(limit: Int = 65536) -> Bool {
        var scratch = [CChar](repeating: 0, count: 4096)
        var read = 0
        while read <= limit {
            let n = scratch.withUnsafeMutableBufferPointer { FCGX_GetStr($0.baseAddress, Int32($0.count), raw.pointee.in) }
            if n <= 0 { return FCGX_HasSeenEOF(raw.pointee.in) != 0 || n == 0 }
            read += Int(n)
        }
        return false
    }

    /// libfcgi closes a connection by shutting down its side and then waiting (up to 2 s)
    /// for the peer to hang up, so unread input cannot turn into a reset that loses the
    /// response. When all input has been read there is nothing to protect: a detached
    /// request is closed at once, freeing the thread a round trip earlier.
    func closeWithoutLingering() { FCGX_Detach(raw) }

    /// Copies the params and reads the body (up to the cap) before libfcgi frees them.
    func readRequest(maxBodyBytes: Int) -> Request {
        var method = "GET", path = "", query = "", remote = "", trace = "", tls = false, proxyOperator: String?
        var documentURI: String?, requestURI: String?
        var contentLength: String?
        var headers = HTTPHeaders()
        if var cursor = raw.pointee.envp {
            while let entry = cursor.pointee {
                cursor += 1
                // Compare names on the C bytes; make Strings only for what the request uses.
                let length = strlen(entry)
                let bytes = UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self)
                guard let eqPointer = memchr(entry, Int32(UInt8(ascii: "=")), length) else { continue }
                let nameLength = UnsafeRawPointer(eqPointer) - UnsafeRawPointer(entry)
                let name = UnsafeBufferPointer(start: bytes, count: nameLength)
                let value = { String(decoding: UnsafeBufferPointer(start: bytes + nameLength + 1, count: length - nameLength - 1), as: UTF8.self) }
                if nameLength > 5 && name[0] == 72 && name[1] == 84 && name[2] == 84 && name[3] == 80 && name[4] == 95 {  // HTTP_
                    headers.add(Self.headerName(fromParam: UnsafeBufferPointer(rebasing: name[5...])), value())
                    continue
                }
                switch nameLength {
                case 5 where Self.equal(name, "HTTPS"): tls = value() == "on"
                case 8 where Self.equal(name, "TRACE_ID"): trace = value()
                case 11 where Self.equal(name, "REMOTE_ADDR"): remote = value()
                case 11 where Self.equal(name, "REQUEST_URI"): requestURI = value()
                case 12 where Self.equal(name, "DOCUMENT_URI"): documentURI = value()
                case 12 where Self.equal(name, "QUERY_STRING"): query = value()
                case 12 where Self.equal(name, "CONTENT_TYPE"):
                    let type = value()
                    if !type.isEmpty { headers.add("content-type", type) }
                case 14 where Self.equal(name, "REQUEST_METHOD"): method = value()
                case 14 where Self.equal(name, "CONTENT_LENGTH"): contentLength = value()
                case 14 where Self.equal(name, "PROXY_OPERATOR"): proxyOperator = value()
                default: break
                }
            }
        }
        if let documentURI { path = documentURI } else if let requestURI {
            path = String(Substring(requestURI.utf8.split(separator: UInt8(ascii: "?"), maxSplits: 1,
                                                          omittingEmptySubsequences: false).first ?? Substring("").utf8))
        }
        // Without nginx's TRACE_ID (a direct FastCGI client): the same choice nginx makes.
        if trace.isEmpty {
            trace = Traceparent.traceId(headers["traceparent"]) ?? headers["x-trace-id"].flatMap(TraceID.sane) ?? TraceID.make()
        }
        var request = Request(method: method, path: path, query: query, headers: headers,
                              remoteAddress: remote, traceId: trace)
        request.isTLS = tls
        request.proxyOperator = proxyOperator.flatMap { $0.isEmpty ? nil : $0 }
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

    static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ text: StaticString) -> Bool {
        bytes.count == text.utf8CodeUnitCount && memcmp(bytes.baseAddress!, text.utf8Start, bytes.count) == 0
    }

    /// `X_TRACE_ID` → `x-trace-id`.
    static func headerName(fromParam name: Substring) -> String {
        var copy = String(name)
        return copy.withUTF8 { headerName(fromParam: $0) }
    }

    static func headerName(fromParam name: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: name.count) { out in
            for i in 0..<name.count {
                let c = name[i]
                out[i] = c == UInt8(ascii: "_") ? UInt8(ascii: "-") : (c >= 65 && c <= 90 ? c + 32 : c)
            }
            return name.count
        }
    }

    /// Writes the whole response; false when the peer is gone (the request was aborted).
    func write(_ response: Response, headOnly: Bool) -> Bool {
        let head = response.serializedHead(includeContentLength: true)
        let body = headOnly ? [] : response.body
        // libfcgi copies output into an 8 KB stream buffer and writes a record each time it
        // fills: a 200 KB directory page went out as 25 records in 25 write(2) calls. Above one
        // buffer, the response goes out as 64 KB records in one writev(2) instead.
        if head.count + body.count > Self.libfcgiBufferContent { return writeRecords([head, body]) }
        var ok = put(head)
        if ok && !body.isEmpty { ok = put(body) }
        return ok
    }

    /// What libfcgi's output stream holds before it writes a record (8192 minus the header).
    static let libfcgiBufferContent = 8192 - 8
    /// The largest record content FastCGI allows.
    static let maxRecordContent = 65535

    /// `parts` as FCGI_STDOUT records written straight to the connection, in one writev(2)
    /// where the kernel takes it all. Nothing is in libfcgi's stream yet, so the order holds;
    /// `FCGX_Finish_r` then ends the stream and the request as usual.
    private func writeRecords(_ parts: [[UInt8]]) -> Bool {
        let total = parts.reduce(0) { $0 + $1.count }
        let records = (total + Self.maxRecordContent - 1) / Self.maxRecordContent
        let requestId = UInt16(truncatingIfNeeded: raw.pointee.requestId)
        var headers = [UInt8](repeating: 0, count: 8 * records)
        var remaining = total
        for record in 0..<records {
            let length = min(remaining, Self.maxRecordContent)
            remaining -= length
            headers.replaceSubrange(record * 8..<record * 8 + 8, with: [
                1, 6, UInt8(requestId >> 8), UInt8(requestId & 0xff),  // version 1, FCGI_STDOUT
                UInt8(length >> 8), UInt8(length & 0xff), 0, 0,
            ])
        }
        let fd = raw.pointee.ipcFd
        return headers.withUnsafeBytes { headerBytes in
            parts[0].withUnsafeBytes { first in
                parts[1].withUnsafeBytes { second in
                    // The iovecs: a record header, then its content from the parts in order.
                    var vectors: [iovec] = []
                    let segments = [first, second].filter { $0.count > 0 }
                    var segment = 0, offset = 0
                    for record in 0..<records {
                        vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: headerBytes.baseAddress! + record * 8), iov_len: 8))
                        var length = min(total - record * Self.maxRecordContent, Self.maxRecordContent)
                        while length > 0 {
                            let piece = min(length, segments[segment].count - offset)
                            vectors.append(iovec(iov_base: UnsafeMutableRawPointer(mutating: segments[segment].baseAddress! + offset),
                                                 iov_len: piece))
                            length -= piece
                            offset += piece
                            if offset == segments[segment].count { segment += 1; offset = 0 }
                        }
                    }
                    return Self.writeAll(fd, &vectors)
                }
            }
        }
    }

    /// writev(2) until every vector is written (a blocking socket may take part of them).
    private static func writeAll(_ fd: Int32, _ vectors: inout [iovec]) -> Bool {
        var first = 0
        while first < vectors.count {
            let batch = min(vectors.count - first, 1024)  // Linux's IOV_MAX
            let written = vectors.withUnsafeMutableBufferPointer { writev(fd, $0.baseAddress! + first, Int32(batch)) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            var left = written
            while left > 0 && first < vectors.count {
                if left >= vectors[first].iov_len {
                    left -= vectors[first].iov_len
                    first += 1
                } else {
                    vectors[first].iov_base = vectors[first].iov_base! + left
                    vectors[first].iov_len -= left
                    left = 0
                }
            }
        }
        return true
    }

    private func put(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { base in
                FCGX_PutStr(base, Int32(buffer.count), raw.pointee.out) == Int32(buffer.count)
            }
        }
    }
}
