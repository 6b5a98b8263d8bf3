/// A value that can be bound as a statement parameter.
public protocol PostgresEncodable {
    /// The text form, or binary bytes with `isBinary`.
    var postgresBind: PostgresBind { get }
}

public struct PostgresBind: Sendable, Equatable {
    public var bytes: [UInt8]?
    public var isBinary: Bool

    public init(text: String) { bytes = Array(text.utf8); isBinary = false }
    public init(binary: [UInt8]) { bytes = binary; isBinary = true }
    public static let null = PostgresBind(bytes: nil, isBinary: false)

    /// A `text[]` parameter (send it as `$n::text[]`): elements quoted, `"` and `\` escaped, nil as NULL.
    public init(textArray: [String?]) {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, element) in textArray.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let element else { out.append(contentsOf: Array("NULL".utf8)); continue }
            out.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        self.init(bytes: out, isBinary: false)
    }

    /// An `integer[]`/`bigint[]` parameter.
    public init(intArray: [Int]) {
        self.init(text: "{" + intArray.map(String.init).joined(separator: ",") + "}")
    }
    init(bytes: [UInt8]?, isBinary: Bool) { self.bytes = bytes; self.isBinary = isBinary }
}

extension String: PostgresEncodable { public var postgresBind: PostgresBind { PostgresBind(text: self) } }
extension Substring: PostgresEncodable { public var postgresBind: PostgresBind { PostgresBind(text: String(self)) } }
extension Int: PostgresEncodable { public var postgresBind: PostgresBind { PostgresBind(text: String(self)) } }
extension Int32: PostgresEncodable { public var postgresBind: PostgresBind { PostgresBind(text: String(self)) } }
extension Int64: PostgresEncodable { public var postgresBind: PostgresBind { PostgresBind(text: String(self)) } }
extension Double: PostgresEncodable { public var postgresBind: PostgresBind { PostgresBind(text: String(self)) } }
extension Bool: PostgresEncodable { public var postgresBind: PostgresBind { PostgresBind(text: self ? "t" : "f") } }
/// Bytes bind as binary `bytea` (no escaping, exact bytes).
extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresBind: PostgresBind { PostgresBind(binary: self) }
}
extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresBind: PostgresBind { self?.postgresBind ?? .null }
}

/// SQL whose interpolated values become `$n` parameters, never text in the statement:
/// `"SELECT * FROM t WHERE id = \(id)"` sends `... WHERE id = $1` with `id` bound.
public struct PostgresQuery: ExpressibleByStringInterpolation, Sendable {
    public private(set) var sql: String
    public private(set) var binds: [PostgresBind]

    public init(stringLiteral value: String) {
        sql = value
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        sql = stringInterpolation.sql
        binds = stringInterpolation.binds
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [PostgresBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) { sql += literal }

        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T) {
            binds.append(value.postgresBind)
            sql += "$\(binds.count)"
        }

        /// NULL when absent.
        public mutating func appendInterpolation<T: PostgresEncodable>(_ value: T?) {
            binds.append(value?.postgresBind ?? .null)
            sql += "$\(binds.count)"
        }

        public mutating func appendInterpolation(bind: PostgresBind) {
            binds.append(bind)
            sql += "$\(binds.count)"
        }
    }
}
