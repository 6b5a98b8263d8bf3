import CPostgres

/// A value that can be read from a result column (text format).
public protocol PostgresDecodable {
    init?(postgresText text: UnsafeBufferPointer<UInt8>)
}

extension String: PostgresDecodable {
    public init?(postgresText text: UnsafeBufferPointer<UInt8>) { self = String(decoding: text, as: UTF8.self) }
}
extension Int: PostgresDecodable {
    public init?(postgresText text: UnsafeBufferPointer<UInt8>) { self.init(String(decoding: text, as: UTF8.self)) }
}
extension Int64: PostgresDecodable {
    public init?(postgresText text: UnsafeBufferPointer<UInt8>) { self.init(String(decoding: text, as: UTF8.self)) }
}
extension Double: PostgresDecodable {
    public init?(postgresText text: UnsafeBufferPointer<UInt8>) { self.init(String(decoding: text, as: UTF8.self)) }
}
extension Bool: PostgresDecodable {
    public init?(postgresText text: UnsafeBufferPointer<UInt8>) {
        guard text.count == 1 else { return nil }
        switch text[0] {
        case UInt8(ascii: "t"): self = true
        case UInt8(ascii: "f"): self = false
        default: return nil
        }
    }
}
/// `bytea` in PostgreSQL's hex output format (`\x0a1b…`).
extension Array: PostgresDecodable where Element == UInt8 {
    public init?(postgresText text: UnsafeBufferPointer<UInt8>) {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0 else {
            return nil
        }
        var out = [UInt8]()
        out.reserveCapacity((text.count - 2) / 2)
        var i = 2
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        while i < text.count {
            guard let hi = nibble(text[i]), let lo = nibble(text[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self = out
    }
}

public struct PostgresDecodingError: Error, CustomStringConvertible {
    public let column: String
    public let type: String
    public init(column: String, type: String) { self.column = column; self.type = type }
    public var description: String { "column \(column) could not be read as \(type)" }
}

/// The rows of one statement. Owns the libpq result and frees it when released.
public final class PostgresRows {
    private let result: OpaquePointer
    public let count: Int
    public let columnCount: Int

    init(result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
        columnCount = Int(PQnfields(result))
    }

    deinit { PQclear(result) }

    /// Rows changed by an INSERT/UPDATE/DELETE.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    public func columnIndex(_ name: String) -> Int? {
        let index = Int(PQfnumber(result, name))
        return index >= 0 ? index : nil
    }

    public func columnName(_ column: Int) -> String { String(cString: PQfname(result, Int32(column))) }

    public func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    /// The raw text bytes of a value, valid only inside `body` (no copy is made).
    public func withBytes<T>(_ row: Int, _ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) throws -> T) rethrows -> T {
        if isNull(row, column) { return try body(nil) }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        let pointer = PQgetvalue(result, Int32(row), Int32(column))!
        return try pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
            try body(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    public func decode<T: PostgresDecodable>(_ row: Int, _ column: Int, as type: T.Type = T.self) throws -> T {
        guard let value = try decodeIfPresent(row, column, as: type) else {
            throw PostgresDecodingError(column: columnName(column), type: "non-null \(T.self)")
        }
        return value
    }

    /// One column of every row (a list of ids, say).
    public func column<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> [T] {
        try (0..<count).map { try decode($0, column, as: type) }
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ row: Int, _ column: Int, as type: T.Type = T.self) throws -> T? {
        try withBytes(row, column) { bytes in
            guard let bytes else { return nil }
            guard let value = T(postgresText: bytes) else {
                throw PostgresDecodingError(column: columnName(column), type: "\(T.self)")
            }
            return value
        }
    }

    public func decode<T: PostgresDecodable>(_ row: Int, _ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columnIndex(column) else { throw PostgresDecodingError(column: column, type: "\(T.self)") }
        return try decode(row, index, as: type)
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ row: Int, _ column: String, as type: T.Type = T.self) throws -> T? {
        guard let index = columnIndex(column) else { throw PostgresDecodingError(column: column, type: "\(T.self)") }
        return try decodeIfPresent(row, index, as: type)
    }
}
