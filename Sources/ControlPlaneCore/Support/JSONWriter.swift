import ServiceLog

/// Builds a JSON document straight into bytes: hot paths (the tenant directory) encode
/// rows without Foundation's JSONEncoder or intermediate Strings.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func beginObject() { valuePrefix(); bytes.append(UInt8(ascii: "{")); needsComma.append(false) }
    public mutating func endObject() { needsComma.removeLast(); bytes.append(UInt8(ascii: "}")) }
    public mutating func beginArray() { valuePrefix(); bytes.append(UInt8(ascii: "[")); needsComma.append(false) }
    public mutating func endArray() { needsComma.removeLast(); bytes.append(UInt8(ascii: "]")) }

    /// A member name; the next call writes its value.
    public mutating func key(_ name: StaticString) {
        comma()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        needsComma[needsComma.count - 1] = false
        pendingValueAfterKey = true
    }

    @_disfavoredOverload
    public mutating func key(_ name: String) {
        comma()
        JSONText.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        needsComma[needsComma.count - 1] = false
        pendingValueAfterKey = true
    }

    public mutating func string(_ value: String) { valuePrefix(); JSONText.appendQuoted(value, to: &bytes) }
    public mutating func string(_ value: String?) { value.map { string($0) } ?? null() }

    /// UTF-8 text taken as is (for instance a column straight from libpq), escaped.
    public mutating func string(utf8 buffer: UnsafeBufferPointer<UInt8>?) {
        guard let buffer else { return null() }
        valuePrefix()
        bytes.append(UInt8(ascii: "\""))
        JSONText.appendEscaped(bytes: buffer, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// PostgreSQL's UTC `timestamptz` text (`2026-11-21 19:58:18.123456+00`) written as
    /// RFC 3339 (`2026-11-21T19:58:18.123456Z`) without an intermediate String.
    public mutating func timestamp(postgresText text: UnsafeBufferPointer<UInt8>?) {
        guard text != nil else { return null() }
        valuePrefix()
        timestampValue(postgresText: text)
    }

    /// A timestamp decoded into a row struct (PostgreSQL's text), written the same way.
    public mutating func timestamp(_ text: String?) {
        guard var text else { return null() }
        text.withUTF8 { timestamp(postgresText: $0) }
    }

    /// The same, straight after a raw fragment.
    public mutating func timestampValue(postgresText text: UnsafeBufferPointer<UInt8>?) {
        guard let text else { bytes.append(contentsOf: JSONWriter.nullLiteral); return }
        bytes.append(UInt8(ascii: "\""))
        var end = text.count
        let utcSuffix = end >= 3 && text[end - 3] == UInt8(ascii: "+") && text[end - 2] == UInt8(ascii: "0") && text[end - 1] == UInt8(ascii: "0")
        if utcSuffix { end -= 3 }
        let start = bytes.count
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<end]))
        if end > 10 && bytes[start + 10] == UInt8(ascii: " ") { bytes[start + 10] = UInt8(ascii: "T") }
        if utcSuffix { bytes.append(UInt8(ascii: "Z")) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int(_ value: Int) { valuePrefix(); bytes.append(contentsOf: Array(String(value).utf8)) }
    public mutating func bool(_ value: Bool) { valuePrefix(); bytes.append(contentsOf: Array((value ? "true" : "false").utf8)) }
    public mutating func null() { valuePrefix(); bytes.append(contentsOf: Array("null".utf8)) }

    /// Appends bytes that are already JSON punctuation or text (a fixed member prefix such as
    /// `,"slug":`), bypassing the comma bookkeeping: for hand-laid hot paths only.
    public mutating func rawFragment(_ fragment: [UInt8]) { bytes.append(contentsOf: fragment) }

    /// A string value straight after a raw fragment (no comma logic).
    public mutating func stringValue(utf8 buffer: UnsafeBufferPointer<UInt8>?) {
        guard let buffer else { bytes.append(contentsOf: JSONWriter.nullLiteral); return }
        bytes.append(UInt8(ascii: "\""))
        JSONText.appendEscaped(bytes: buffer, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    static let nullLiteral: [UInt8] = Array("null".utf8)

    /// Marks that a value was written by hand at the current level (so the next gets a comma).
    public mutating func didWriteValue() {
        if pendingValueAfterKey { pendingValueAfterKey = false } else { comma() }
        needsComma[needsComma.count - 1] = true
    }

    /// Already-encoded JSON, inserted verbatim (the caller vouches for it).
    public mutating func raw(_ json: [UInt8]) { valuePrefix(); bytes.append(contentsOf: json) }

    private var pendingValueAfterKey = false

    private mutating func comma() {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func valuePrefix() {
        if pendingValueAfterKey {
            pendingValueAfterKey = false
        } else {
            comma()
        }
        needsComma[needsComma.count - 1] = true
    }
}

extension JSONWriter {
    /// The list envelope every collection uses: `{"items":[…],"nextCursor":…}`.
    public static func list(count: Int, nextCursor: String? = nil, capacity: Int = 256,
                            item: (inout JSONWriter, Int) throws -> Void) rethrows -> [UInt8] {
        var json = JSONWriter(capacity: capacity)
        json.beginObject()
        json.key("items")
        json.beginArray()
        for index in 0..<count { try item(&json, index) }
        json.endArray()
        json.key("nextCursor")
        json.string(nextCursor)
        json.endObject()
        return json.bytes
    }
}

extension JSONWriter {
    /// A page of row structs in the list envelope, with its cursor.
    public static func list<Row>(_ page: Page<[Row]>, capacity: Int = 256, item: (inout JSONWriter, Row) throws -> Void) rethrows -> [UInt8] {
        try list(count: page.items.count, nextCursor: page.nextCursor?.encoded, capacity: capacity) { json, index in
            try item(&json, page.items[index])
        }
    }
}
