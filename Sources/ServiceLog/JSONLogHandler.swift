#if canImport(Glibc)
import Glibc
#endif
import Logging

/// swift-log's handler for the whole process: one JSON line per event on stderr (`ts`, `level`,
/// `component`, `msg`, then the logger's metadata and the event's, the event's winning), one
/// write(2) per line so threads never interleave. `LoggingSystem.bootstrap` with it sends the
/// lines of libraries that use swift-log through the same format.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logging.Logger.Metadata = [:]
    public var logLevel: Logging.Logger.Level = .info
    public let component: String

    public init(component: String) { self.component = component }

    public subscript(metadataKey key: String) -> Logging.Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logging.Logger.Level, message: Logging.Logger.Message, metadata explicit: Logging.Logger.Metadata?,
                    source: String, file: String, function: String, line: UInt) {
        var bytes = Self.format(level: level, component: component, message: message.description, fields: Self.merged(metadata, explicit))
        bytes.append(0x0A)
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(2, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
    }

    /// The logger's metadata then the event's, each in key order; the event's replace the
    /// logger's of the same name.
    static func merged(_ metadata: Logging.Logger.Metadata, _ explicit: Logging.Logger.Metadata?)
        -> [(key: String, value: Logging.Logger.Metadata.Value)] {
        var fields = metadata.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
        guard let explicit else { return fields }
        let keys = Set(explicit.keys)
        fields.removeAll { keys.contains($0.key) }
        return fields + explicit.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
    }

    public static func format(level: Logging.Logger.Level, component: String, message: String,
                              fields: [(key: String, value: Logging.Logger.Metadata.Value)]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(160)
        out.append(contentsOf: Array("{\"ts\":".utf8))
        JSONText.appendQuoted(Logger.timestamp(), to: &out)
        out.append(contentsOf: Array(",\"level\":".utf8))
        JSONText.appendQuoted(LogLevel(level).name, to: &out)
        out.append(contentsOf: Array(",\"component\":".utf8))
        JSONText.appendQuoted(component, to: &out)
        out.append(contentsOf: Array(",\"msg\":".utf8))
        JSONText.appendQuoted(message, to: &out)
        for (key, value) in fields {
            out.append(UInt8(ascii: ","))
            JSONText.appendQuoted(key, to: &out)
            out.append(UInt8(ascii: ":"))
            append(value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Numbers and booleans as JSON numbers and booleans; lists and maps as JSON; the rest as strings.
    static func append(_ value: Logging.Logger.Metadata.Value, to out: inout [UInt8]) {
        switch value {
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .stringConvertible(let c):
            switch c {
            case let i as Int: out.append(contentsOf: Array(String(i).utf8))
            case let d as Double: out.append(contentsOf: Array((d.isFinite ? String(d) : "null").utf8))
            case let b as Bool: out.append(contentsOf: Array((b ? "true" : "false").utf8))
            default: JSONText.appendQuoted(c.description, to: &out)
            }
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let map):
            out.append(UInt8(ascii: "{"))
            for (index, entry) in map.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(entry.key, to: &out)
                out.append(UInt8(ascii: ":"))
                append(entry.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

extension JSONLogHandler {
    /// Makes this handler swift-log's for the whole process (call once, first thing in main):
    /// a library that logs through swift-log then writes the same JSON lines.
    public static func bootstrap() {
        LoggingSystem.bootstrap { label in JSONLogHandler(component: label) }
    }
}
