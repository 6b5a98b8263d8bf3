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
        var start = 0
        for i in 0..<buffer.count {
            let byte = buffer[i]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte == 0x7F {
                if i > start { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<i])) }
                JSONText.appendEscaped(String(decoding: CollectionOfOne(byte), as: UTF8.self), to: &bytes)
                start = i + 1
            }
        }
        if buffer.count > start { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<buffer.count])) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int(_ value: Int) { valuePrefix(); bytes.append(contentsOf: Array(String(value).utf8)) }
    public mutating func bool(_ value: Bool) { valuePrefix(); bytes.append(contentsOf: Array((value ? "true" : "false").utf8)) }
    public mutating func null() { valuePrefix(); bytes.append(contentsOf: Array("null".utf8)) }

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
