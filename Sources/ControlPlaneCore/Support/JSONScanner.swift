/// A strict RFC 8259 syntax checker that never decodes: it reports where values are, as
/// byte ranges of the input, so a registry's `canonicalPayload` can be stored exactly as
/// sent (key order, spacing, number spelling, escapes and duplicate keys untouched).
public struct JSONScanner {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case unexpected(offset: Int)
        case tooDeep(offset: Int)
        case invalidUTF8(offset: Int)

        public var description: String {
            switch self {
            case .unexpected(let o): "malformed JSON at byte \(o)"
            case .tooDeep(let o): "JSON nested too deeply at byte \(o)"
            case .invalidUTF8(let o): "invalid UTF-8 at byte \(o)"
            }
        }
    }

    /// A value's kind and its bytes' range (`start..<end`).
    public struct Span: Equatable {
        public enum Kind: Equatable { case object, array, string, number, literal }
        public let kind: Kind
        public let range: Range<Int>
    }

    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0

    public init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = 512) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Checks that the whole input is exactly one JSON value (surrounding spaces allowed).
    public static func validate(_ input: [UInt8], maxDepth: Int = 512) throws -> Span {
        try input.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, maxDepth: maxDepth)
            scanner.skipSpace()
            let span = try scanner.value(depth: 0)
            scanner.skipSpace()
            guard scanner.position == buffer.count else { throw Failure.unexpected(offset: scanner.position) }
            return span
        }
    }

    /// Members of the object at `span`: each name (decoded; names here are plain) and its value's span.
    public func members(of span: Span) throws -> [(name: String, value: Span)] {
        guard span.kind == .object else { return [] }
        var scanner = JSONScanner(bytes, maxDepth: maxDepth)
        scanner.position = span.range.lowerBound + 1
        var out: [(String, Span)] = []
        scanner.skipSpace()
        if scanner.peek == UInt8(ascii: "}") { return [] }
        while true {
            scanner.skipSpace()
            let nameSpan = try scanner.string()
            let name = try JSONScanner.decodeString(UnsafeBufferPointer(rebasing: bytes[nameSpan.range]))
            scanner.skipSpace()
            try scanner.expect(UInt8(ascii: ":"))
            scanner.skipSpace()
            let value = try scanner.value(depth: 1)
            out.append((name, value))
            scanner.skipSpace()
            if scanner.peek == UInt8(ascii: ",") { scanner.position += 1; continue }
            try scanner.expect(UInt8(ascii: "}"))
            return out
        }
    }

    /// Elements of the array at `span`.
    public func elements(of span: Span) throws -> [Span] {
        guard span.kind == .array else { return [] }
        var scanner = JSONScanner(bytes, maxDepth: maxDepth)
        scanner.position = span.range.lowerBound + 1
        var out: [Span] = []
        scanner.skipSpace()
        if scanner.peek == UInt8(ascii: "]") { return [] }
        while true {
            scanner.skipSpace()
            out.append(try scanner.value(depth: 1))
            scanner.skipSpace()
            if scanner.peek == UInt8(ascii: ",") { scanner.position += 1; continue }
            try scanner.expect(UInt8(ascii: "]"))
            return out
        }
    }

    /// The text of a string value's span, with escapes resolved.
    public func string(at span: Span) throws -> String? {
        guard span.kind == .string else { return nil }
        return try JSONScanner.decodeString(UnsafeBufferPointer(rebasing: bytes[span.range]))
    }

    public func literal(at span: Span) -> String? {
        guard span.kind == .literal || span.kind == .number else { return nil }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[span.range]), as: UTF8.self)
    }

    // MARK: - scanning

    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8) throws {
        guard peek == byte else { throw Failure.unexpected(offset: position) }
        position += 1
    }

    mutating func value(depth: Int) throws -> Span {
        guard let c = peek else { throw Failure.unexpected(offset: position) }
        switch c {
        case UInt8(ascii: "{"): return try container(open: c, close: UInt8(ascii: "}"), depth: depth, kind: .object)
        case UInt8(ascii: "["): return try container(open: c, close: UInt8(ascii: "]"), depth: depth, kind: .array)
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        case UInt8(ascii: "t"): return try word("true")
        case UInt8(ascii: "f"): return try word("false")
        case UInt8(ascii: "n"): return try word("null")
        default: throw Failure.unexpected(offset: position)
        }
    }

    /// Iterative over the container's own members; nesting recurses, bounded by `maxDepth`.
    mutating func container(open: UInt8, close: UInt8, depth: Int, kind: Span.Kind) throws -> Span {
        guard depth < maxDepth else { throw Failure.tooDeep(offset: position) }
        let start = position
        position += 1
        skipSpace()
        if peek == close {
            position += 1
            return Span(kind: kind, range: start..<position)
        }
        while true {
            skipSpace()
            if kind == .object {
                _ = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
            }
            _ = try value(depth: depth + 1)
            skipSpace()
            if peek == UInt8(ascii: ",") { position += 1; continue }
            try expect(close)
            return Span(kind: kind, range: start..<position)
        }
    }

    mutating func string() throws -> Span {
        let start = position
        try expect(UInt8(ascii: "\""))
        while position < bytes.count {
            let c = bytes[position]
            switch c {
            case UInt8(ascii: "\""):
                position += 1
                return Span(kind: .string, range: start..<position)
            case UInt8(ascii: "\\"):
                position += 1
                guard let e = peek else { throw Failure.unexpected(offset: position) }
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    guard position + 4 < bytes.count,
                          (1...4).allSatisfy({ JSONScanner.hexValue(bytes[position + $0]) != nil }) else {
                        throw Failure.unexpected(offset: position)
                    }
                    position += 5
                default: throw Failure.unexpected(offset: position)
                }
            case 0x00..<0x20:
                throw Failure.unexpected(offset: position)
            case 0x80...:
                try skipUTF8Sequence()
            default:
                position += 1
            }
        }
        throw Failure.unexpected(offset: position)
    }

    /// One well-formed UTF-8 sequence (no overlongs, no surrogates, ≤ U+10FFFF).
    mutating func skipUTF8Sequence() throws {
        let c = bytes[position]
        let length: Int
        var minimum: UInt32
        switch c {
        case 0xC2...0xDF: length = 2; minimum = 0x80
        case 0xE0...0xEF: length = 3; minimum = 0x800
        case 0xF0...0xF4: length = 4; minimum = 0x10000
        default: throw Failure.invalidUTF8(offset: position)
        }
        guard position + length <= bytes.count else { throw Failure.invalidUTF8(offset: position) }
        var scalar = UInt32(c) & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for i in 1..<length {
            let b = bytes[position + i]
            guard b & 0xC0 == 0x80 else { throw Failure.invalidUTF8(offset: position) }
            scalar = scalar << 6 | UInt32(b & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
            throw Failure.invalidUTF8(offset: position)
        }
        minimum = 0
        position += length
    }

    mutating func number() throws -> Span {
        let start = position
        if peek == UInt8(ascii: "-") { position += 1 }
        guard let first = peek, first >= 48, first <= 57 else { throw Failure.unexpected(offset: position) }
        position += 1
        if first != UInt8(ascii: "0") { digits() }
        if peek == UInt8(ascii: ".") {
            position += 1
            guard let d = peek, d >= 48, d <= 57 else { throw Failure.unexpected(offset: position) }
            digits()
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            position += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
            guard let d = peek, d >= 48, d <= 57 else { throw Failure.unexpected(offset: position) }
            digits()
        }
        return Span(kind: .number, range: start..<position)
    }

    mutating func digits() {
        while let d = peek, d >= 48, d <= 57 { position += 1 }
    }

    mutating func word(_ text: StaticString) throws -> Span {
        let start = position
        let length = text.utf8CodeUnitCount
        guard position + length <= bytes.count else { throw Failure.unexpected(offset: position) }
        for i in 0..<length where bytes[position + i] != text.utf8Start[i] { throw Failure.unexpected(offset: position + i) }
        position += length
        return Span(kind: .literal, range: start..<position)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 65...70: c - 55
        case 97...102: c - 87
        default: nil
        }
    }

    /// Decodes a string token (quotes included) — for names and small fields only.
    static func decodeString(_ token: UnsafeBufferPointer<UInt8>) throws -> String {
        var scalars = String.UnicodeScalarView()
        var out = [UInt8]()
        var i = 1
        let end = token.count - 1
        func flush() {
            if !out.isEmpty { scalars.append(contentsOf: String(decoding: out, as: UTF8.self).unicodeScalars); out.removeAll() }
        }
        while i < end {
            let c = token[i]
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            let e = token[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(8)
            case UInt8(ascii: "f"): out.append(12)
            case UInt8(ascii: "n"): out.append(10)
            case UInt8(ascii: "r"): out.append(13)
            case UInt8(ascii: "t"): out.append(9)
            case UInt8(ascii: "u"):
                var unit: UInt32 = 0
                for k in 0..<4 { unit = unit << 4 | UInt32(hexValue(token[i + k])!) }
                i += 4
                if (0xD800...0xDBFF).contains(unit), i + 5 < end, token[i] == UInt8(ascii: "\\"), token[i + 1] == UInt8(ascii: "u") {
                    var low: UInt32 = 0
                    for k in 0..<4 { low = low << 4 | UInt32(hexValue(token[i + 2 + k])!) }
                    if (0xDC00...0xDFFF).contains(low) {
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                flush()
                scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
            default: out.append(e)
            }
        }
        flush()
        return String(scalars)
    }
}

extension JSONScanner {
    /// Validates `input` as one JSON value and hands the scanner and the root span to `body`
    /// (spans are valid only inside it).
    public static func withDocument<T>(_ input: [UInt8], maxDepth: Int = 512,
                                       _ body: (JSONScanner, Span) throws -> T) throws -> T {
        try input.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer, maxDepth: maxDepth)
            scanner.skipSpace()
            let root = try scanner.value(depth: 0)
            scanner.skipSpace()
            guard scanner.position == buffer.count else { throw Failure.unexpected(offset: scanner.position) }
            return try body(scanner, root)
        }
    }
}
