/// A row struct with its one column list. Every SELECT and RETURNING of the table splices
/// the same list (`\(columns: TenantRow.self)`), and `init(row:)` reads the columns in that
/// order by type, so adding a column means touching one place, never counting indexes.
public protocol PostgresRowDecodable {
    /// The select list, in the order `init(row:)` reads it. A compile-time constant of the
    /// row type: it is spliced into SQL text, never a value.
    static var columns: String { get }
    init(row: inout PostgresRowReader) throws
}

/// Reads one row's columns left to right, each by type.
public struct PostgresRowReader {
    let rows: PostgresRows
    let row: Int
    private var column = 0

    init(rows: PostgresRows, row: Int) {
        self.rows = rows
        self.row = row
    }

    public mutating func next<T: PostgresDecodable>(_ type: T.Type = T.self) throws -> T {
        defer { column += 1 }
        return try rows.decode(row, column, as: type)
    }

    public mutating func next<T: PostgresDecodable>(_ type: T?.Type = T?.self) throws -> T? {
        defer { column += 1 }
        return try rows.decodeIfPresent(row, column, as: T.self)
    }
}

extension PostgresRows {
    /// Every row as `T`.
    public func decode<T: PostgresRowDecodable>(_ type: T.Type) throws -> [T] {
        try (0..<count).map { index in
            var reader = PostgresRowReader(rows: self, row: index)
            return try T(row: &reader)
        }
    }

    /// The first row as `T`, or nil when there is none.
    public func first<T: PostgresRowDecodable>(_ type: T.Type) throws -> T? {
        guard count > 0 else { return nil }
        var reader = PostgresRowReader(rows: self, row: 0)
        return try T(row: &reader)
    }
}

extension PostgresQuery.StringInterpolation {
    /// Splices a row type's column list into the statement text (a constant of the type).
    public mutating func appendInterpolation<T: PostgresRowDecodable>(columns type: T.Type) {
        appendLiteral(type.columns)
    }
}

extension PostgresQuery.StringInterpolation {
    /// Splices a fixed piece of SQL text owned by the calling store (a column list constant).
    /// Never pass a value: values are interpolated plainly and become `$n` parameters.
    public mutating func appendInterpolation(unescaped text: StaticString) {
        appendLiteral(text.description)
    }
}
