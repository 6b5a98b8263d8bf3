#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A value in a log line. Only these shapes exist so that nothing unexpected (a token, a
/// request body) is ever formatted into a line by accident through string interpolation.
public enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }

    var metadataValue: Logging.Logger.Metadata.Value {
        switch self {
        case .string(let s): .string(s)
        case .int(let i): .stringConvertible(i)
        case .double(let d): .stringConvertible(d)
        case .bool(let b): .stringConvertible(b)
        }
    }

    init?(_ value: Logging.Logger.Metadata.Value) {
        switch value {
        case .string(let s): self = .string(s)
        case .stringConvertible(let c):
            switch c {
            case let i as Int: self = .int(i)
            case let d as Double: self = .double(d)
            case let b as Bool: self = .bool(b)
            default: self = .string(c.description)
            }
        default: return nil
        }
    }
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

    var swiftLogLevel: Logging.Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .warning: .warning
        case .error: .error
        }
    }

    init(_ level: Logging.Logger.Level) {
        switch level {
        case .trace, .debug: self = .debug
        case .info, .notice: self = .info
        case .warning: self = .warning
        case .error, .critical: self = .error
        }
    }
}

/// The service's logger: swift-log's `Logger` underneath (so the level, the metadata and any
/// library that logs through swift-log share one pipeline and one format), with a narrower
/// front: the message is a `StaticString`, so nothing — a token, a request body — can be
/// interpolated into it, and fields are typed `LogValue`s. Metadata set on a logger (a
/// request's trace id, route and actor) is on every line it writes.
public struct Logger: Sendable {
    public var base: Logging.Logger
    public let component: String

    public init(component: String, minimumLevel: LogLevel = .info) {
        self.component = component
        base = Logging.Logger(label: component) { JSONLogHandler(component: $0) }
        base.logLevel = minimumLevel.swiftLogLevel
    }

    public var minimumLevel: LogLevel {
        get { LogLevel(base.logLevel) }
        set { base.logLevel = newValue.swiftLogLevel }
    }

    /// A field every later line of this logger carries (nil removes it).
    public subscript(metadataKey key: String) -> LogValue? {
        get { base[metadataKey: key].flatMap(LogValue.init) }
        set { base[metadataKey: key] = newValue?.metadataValue }
    }

    public func debug(_ message: StaticString, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.debug, message, fields) }
    public func info(_ message: StaticString, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.info, message, fields) }
    public func warning(_ message: StaticString, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.warning, message, fields) }
    public func error(_ message: StaticString, _ fields: KeyValuePairs<String, LogValue> = [:]) { log(.error, message, fields) }

    public func log(_ level: LogLevel, _ message: StaticString, _ fields: KeyValuePairs<String, LogValue>) {
        guard level.swiftLogLevel >= base.logLevel else { return }
        var metadata = Logging.Logger.Metadata()
        for (key, value) in fields { metadata[key] = value.metadataValue }
        base.log(level: level.swiftLogLevel, Logging.Logger.Message(stringLiteral: message.description), metadata: metadata)
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
