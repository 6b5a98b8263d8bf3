import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// systemd's notify protocol: one datagram (`STATUS=…`) to the unix socket named by
/// `$NOTIFY_SOCKET` (a leading `@` is the abstract namespace). Without the variable (not
/// under systemd, or no `NotifyAccess`), nothing is sent.
public struct SystemdNotify: Sendable {
    public let path: String?
    /// Half of `WATCHDOG_USEC` when systemd asks this process to feed a watchdog (systemd's
    /// advice: ping at half the interval); nil otherwise.
    public let watchdogInterval: Double?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        let forThisProcess = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        watchdogInterval = forThisProcess ? environment["WATCHDOG_USEC"].flatMap(Double.init).map { $0 / 2_000_000 } : nil
    }

    public var isActive: Bool { path != nil }

    public func status(_ text: String) { send("STATUS=" + text.replacingOccurrences(of: "\n", with: " ")) }
    public func ready(status text: String) { send("READY=1\nSTATUS=" + text.replacingOccurrences(of: "\n", with: " ")) }
    public func watchdog() { send("WATCHDOG=1") }
    public func stopping() { send("STOPPING=1") }

    private func send(_ message: String) {
        guard let path else { return }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let payload = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer in
                payload.withUnsafeBytes { sendto(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sockaddrPointer, length) }
            }
        }
    }
}

