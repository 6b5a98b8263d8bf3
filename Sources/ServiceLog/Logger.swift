#if canImport(Glibc)
import Glibc
#endif

/// A value in a log line. Only these shapes exist so that nothing unexpected (a token, a
/// request body) is ever formatted into a line by accident through string interpolation.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
}

public enum LogLevel: Int, Sendable, Comparable {
    case debug = 0, info, warning, error

    public var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public init?(name: String) {
        switch name.lowercased() {
        case "debug": self = .debug
        case "info": self = .info
        case "warning", "warn": self = .warning
        case "error": self = .error
        default: return nil
        }
    }

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Structured JSON lines on stderr, one write(2) per line so threads never interleave.
public struct Logger: Sendable {
    public var minimumLevel: LogLevel
    public var component: String

    public init(component: String, minimumLevel: LogLevel = .info) {
        self.component = component
        self.minimumLevel = minimumLevel
    }

    public func debug(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, message, fields) }

    public func log(_ level: LogLevel, _ message: String, _ fields: KeyValuePairs<String, LogValue>) {
        guard level >= minimumLevel else { return }
        var line = Logger.format(level: level, component: component, message: message, fields: Array(fields))
        line.append(0x0A)
        line.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(2, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    public static func format(level: LogLevel, component: String, message: String,
                              fields: [(key: String, value: LogValue)]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(160)
        out.append(contentsOf: Array("{\"ts\":".utf8))
        JSONText.appendQuoted(timestamp(), to: &out)
        out.append(contentsOf: Array(",\"level\":".utf8))
        JSONText.appendQuoted(level.name, to: &out)
        out.append(contentsOf: Array(",\"component\":".utf8))
        JSONText.appendQuoted(component, to: &out)
        out.append(contentsOf: Array(",\"msg\":".utf8))
        JSONText.appendQuoted(message, to: &out)
        for (key, value) in fields {
            out.append(UInt8(ascii: ","))
            JSONText.appendQuoted(key, to: &out)
            out.append(UInt8(ascii: ":"))
            switch value {
            case .string(let s): JSONText.appendQuoted(s, to: &out)
            case .int(let i): out.append(contentsOf: Array(String(i).utf8))
            case .double(let d): out.append(contentsOf: Array((d.isFinite ? String(d) : "null").utf8))
            case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
            }
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// RFC 3339 UTC with milliseconds, without Foundation's formatters.
    public static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
