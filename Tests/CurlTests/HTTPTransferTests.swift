@testable import Curl
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// Against a one-shot HTTP server on 127.0.0.1 that answers a fixed response.
final class HTTPTransferTests: XCTestCase {
    func testConnectsToThePinnedAddressNotToWhatTheNameResolvesTo() throws {
        let server = try OneShotServer(response: "HTTP/1.1 204 No Content\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n")
        // `pinned.invalid` resolves nowhere (RFC 6761): only the pin can reach the server.
        let url = "http://pinned.invalid:\(server.port)/hook"
        let pinned = HTTPTransfer.send(method: "POST", url: url, headers: [("x-a", "1")], body: Array("{}".utf8), timeoutSeconds: 5,
                                       pinnedAddresses: ("pinned.invalid", Int(server.port), ["::1", "127.0.0.1"]))
        XCTAssertEqual(pinned.status, 204, pinned.error ?? "")
        XCTAssertEqual(pinned.headers["retry-after"], "7")
        XCTAssertTrue(server.request.hasPrefix("POST /hook HTTP/1.1"), server.request)
        let unpinned = HTTPTransfer.send(method: "POST", url: url, headers: [], body: [], timeoutSeconds: 5)
        XCTAssertNil(unpinned.status)
        XCTAssertEqual(unpinned.error, "could not connect")
    }

    func testRedirectsAreNotFollowedAndLargeAnswersAreCut() throws {
        let redirect = try OneShotServer(response: "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n")
        let answer = HTTPTransfer.send(method: "POST", url: "http://127.0.0.1:\(redirect.port)/", headers: [], body: [], timeoutSeconds: 5)
        XCTAssertEqual(answer.status, 302)
        XCTAssertNil(answer.error)
        let big = try OneShotServer(response: "HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n" + String(repeating: "x", count: 200_000))
        let cut = HTTPTransfer.send(method: "POST", url: "http://127.0.0.1:\(big.port)/", headers: [], body: [], timeoutSeconds: 5,
                                    maxResponseBytes: 1000)
        XCTAssertEqual(cut.error, "answer larger than 1000 bytes")
        XCTAssertLessThanOrEqual(cut.body.count, 1000)
    }
}

/// Accepts one connection, reads the request head, answers `response`, closes.
private final class OneShotServer: @unchecked Sendable {
    let port: UInt16
    private let descriptor: Int32
    private let lock = NSLock()
    private var received = ""
    var request: String { lock.withLock { received } }

    init(response: String) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0, listen(descriptor, 4) == 0 else { throw XCTSkip("cannot listen on 127.0.0.1") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        let bytes = Array(response.utf8)
        Thread.detachNewThread { [self] in
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = read(connection, &buffer, buffer.count)
            if n > 0 { lock.withLock { received = String(decoding: buffer.prefix(n), as: UTF8.self) } }
            var sent = 0
            while sent < bytes.count {
                let w = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if w <= 0 { break }
                sent += w
            }
            close(connection)
            close(descriptor)
        }
    }
}
