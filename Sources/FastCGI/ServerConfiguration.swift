#if canImport(Glibc)
import Glibc
#endif

/// Where the responder listens.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A unix socket path, created (an old socket unlinked) with the given mode.
    case unixSocket(path: String, mode: UInt32)
    /// `host:port`; the host must be explicit (libfcgi binds every interface without one).
    case tcp(host: String, port: Int)
    /// The listening socket systemd (or any spawner) passes on fd 0.
    case inheritedStandardInput

    /// Parses `CONTROLPLANE_LISTEN`: `/path`, `unix:/path`, `host:port`, or `fd:0`.
    public static func parse(_ text: String, socketMode: UInt32 = 0o660) -> ListenAddress? {
        if text == "fd:0" || text == "systemd" || text == "stdin" { return .inheritedStandardInput }
        if text.hasPrefix("unix:") { return .unixSocket(path: String(text.dropFirst(5)), mode: socketMode) }
        if text.hasPrefix("/") || text.hasPrefix("./") { return .unixSocket(path: text, mode: socketMode) }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = String(text[..<colon]).trimmingBrackets()
        guard !host.isEmpty, let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            return nil
        }
        return .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .unixSocket(let path, _): "unix:\(path)"
        case .tcp(let host, let port): "\(host):\(port)"
        case .inheritedStandardInput: "fd:0"
        }
    }
}

extension String {
    fileprivate func trimmingBrackets() -> String {
        hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : self
    }
}

public struct ServerConfiguration: Sendable {
    public var listen: ListenAddress
    /// Worker threads, each with its own libfcgi request and database connection.
    public var threadCount: Int
    /// Bodies above this are answered 413 without being read into memory.
    public var maxBodyBytes: Int
    /// How long SIGTERM waits for in-flight requests before giving up.
    public var drainTimeoutSeconds: Double
    public var backlog: Int
    /// Requests slower than this get a `slow request` warning line (0 disables).
    public var slowRequestMilliseconds: Int

    public init(listen: ListenAddress, threadCount: Int = ServerConfiguration.defaultThreadCount,
                maxBodyBytes: Int = 1 << 20, drainTimeoutSeconds: Double = 25, backlog: Int = 1024,
                slowRequestMilliseconds: Int = 1000) {
        self.listen = listen
        self.threadCount = threadCount
        self.maxBodyBytes = maxBodyBytes
        self.drainTimeoutSeconds = drainTimeoutSeconds
        self.backlog = backlog
        self.slowRequestMilliseconds = slowRequestMilliseconds
    }

    /// Eight threads per core (at least 8). Most requests no longer wait for PostgreSQL (the
    /// directory and the dictionaries are in memory), but an email check waits for its
    /// group-committed attempt row, and a batch holds at most one row per waiting worker: on
    /// 2 cores, 8 → 16 threads took the email check from 11.7k to 16k/s for 10 % less on the
    /// directory page (32 threads: 19.6k, −11 % more). Kept connections pin no thread.
    public static var defaultThreadCount: Int {
        max(8, 8 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
