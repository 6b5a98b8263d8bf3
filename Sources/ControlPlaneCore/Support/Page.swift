import OpenSSLCrypto

/// The opaque `cursor` of every list: base64url of the last row's key (one or more parts,
/// joined by a newline, which no key part holds). Clients hand it back unchanged.
public struct PageCursor: Sendable, Equatable {
    public let parts: [String]

    public init(_ parts: [String]) { self.parts = parts }
    public init(_ parts: String...) { self.parts = parts }

    /// nil unless `text` is a cursor with exactly `count` parts.
    public init?(encoded text: String, parts count: Int) {
        guard text.utf8.count <= 1024, let bytes = Base64.decode(text, url: true),
              let decoded = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = decoded.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == count else { return nil }
        self.parts = parts
    }

    public var encoded: String { Base64.encode(Array(parts.joined(separator: "\n").utf8), url: true) }

    /// Part `index` as a row id; a cursor whose part is not one was not made by this API (400).
    public func integer(_ index: Int) throws -> Int64 {
        guard let value = Int64(parts[index]) else { throw Self.forged }
        return value
    }

    /// The answer to a cursor that decodes but was not made by this API.
    public static let forged = Problem.invalidQuery([.init(name: "cursor", reason: "is not a cursor this API returned")])
}

/// One page of a list: its items and the cursor of the next page (nil on the last).
/// `Items` is an array of row structs, or a result whose rows a hot path encodes directly.
public struct Page<Items> {
    public let items: Items
    public let count: Int
    public let nextCursor: PageCursor?

    public init(items: Items, count: Int, nextCursor: PageCursor?) {
        self.items = items
        self.count = count
        self.nextCursor = nextCursor
    }
}

extension Page {
    /// Rows fetched with `LIMIT limit + 1`: the extra row only says that a next page exists.
    public init<Row>(rows: [Row], limit: Int, cursor: (Row) -> PageCursor) where Items == [Row] {
        let items = Array(rows.prefix(limit))
        self.init(items: items, count: items.count, nextCursor: rows.count > limit ? items.last.map(cursor) : nil)
    }
}
