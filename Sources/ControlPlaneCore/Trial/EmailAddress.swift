import Foundation

/// An email address as mail systems accept it in practice (RFC 5321/5322, RFC 6531), and
/// the rules this service applies, documented in the README:
/// - leading and trailing spaces are ignored; any other whitespace or control character is invalid;
/// - at most 254 octets in all and 64 in the local part (after IDNA conversion);
/// - the local part is a dot-atom (RFC 5322 atext, dots not first, last or doubled), Unicode
///   letters and digits allowed (SMTPUTF8, NFC-normalized); quoted local parts are refused:
///   providers do not issue them and they are a common abuse vector;
/// - the domain: one trailing dot ignored, case folded, NFC-normalized, each non-ASCII label
///   converted to its IDNA A-label (punycode); labels 1–63 octets of letters, digits and inner
///   hyphens; at least two labels; an all-numeric top-level label, IP literals (`[…]`) and the
///   special-use names `arpa`, `invalid`, `local`, `localhost`, `onion`, `test` are refused;
/// - plus and dot sub-addressing is kept as given (no provider-specific normalization).
public struct EmailAddress: Sendable, Equatable {
    public let localPart: String
    /// ASCII (A-label) form, lowercase, no trailing dot.
    public let domain: String

    public var normalized: String { localPart + "@" + domain }

    public enum SyntaxError: String, Sendable, Error {
        case empty = "the address is empty"
        case tooLong = "the address is longer than 254 octets"
        case missingAt = "the address has no @"
        case severalAts = "the address has more than one @ (quoted local parts are not accepted)"
        case localPartEmpty = "the part before @ is empty"
        case localPartTooLong = "the part before @ is longer than 64 octets"
        case localPartQuoted = "quoted local parts are not accepted"
        case localPartDots = "dots may not start, end or repeat in the part before @"
        case localPartCharacter = "the part before @ has a character mail systems do not accept"
        case whitespace = "the address contains whitespace or control characters"
        case domainEmpty = "the domain is empty"
        case domainLiteral = "IP-address domains are not accepted"
        case domainLabel = "a domain label is empty, too long or has characters a hostname cannot have"
        case domainSingleLabel = "the domain needs at least two labels"
        case domainNumericTLD = "the top-level domain cannot be numeric"
        case domainSpecialUse = "the domain is a special-use name that cannot receive mail"
        case domainTooLong = "the domain is longer than 253 octets"
    }

    static let specialUse: Set<String> = ["arpa", "invalid", "local", "localhost", "onion", "test"]

    /// atext of RFC 5322 (besides letters and digits).
    private static let atextSymbols: [Bool] = {
        var table = [Bool](repeating: false, count: 128)
        for c in "!#$%&'*+/=?^_`{|}~-".utf8 { table[Int(c)] = true }
        return table
    }()

    public static func parse(_ input: String) -> Result<EmailAddress, SyntaxError> {
        var text = input
        return text.withUTF8 { parse(bytes: $0) }
    }

    static func parse(bytes whole: UnsafeBufferPointer<UInt8>) -> Result<EmailAddress, SyntaxError> {
        var start = 0, end = whole.count
        while start < end && whole[start] == 0x20 { start += 1 }
        while end > start && whole[end - 1] == 0x20 { end -= 1 }
        let bytes = UnsafeBufferPointer(rebasing: whole[start..<end])
        if bytes.isEmpty { return .failure(.empty) }
        if bytes.count > 1024 { return .failure(.tooLong) }
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return .failure(.missingAt) }
        let localBytes = UnsafeBufferPointer(rebasing: bytes[..<at])
        let domainBytes = UnsafeBufferPointer(rebasing: bytes[(at + 1)...])
        if localBytes.first == UInt8(ascii: "\"") { return .failure(.localPartQuoted) }
        if localBytes.contains(UInt8(ascii: "@")) { return .failure(.severalAts) }
        if bytes.contains(where: { $0 < 0x21 || $0 == 0x7F }) { return .failure(.whitespace) }

        // Local part: ASCII fast path, else Unicode rules.
        if localBytes.isEmpty { return .failure(.localPartEmpty) }
        var localPart: String
        if localBytes.allSatisfy({ $0 < 0x80 }) {
            for c in localBytes {
                let isAlnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
                if !isAlnum && c != UInt8(ascii: ".") && !atextSymbols[Int(c)] {
                    return .failure(c == UInt8(ascii: "\"") ? .localPartQuoted : .localPartCharacter)
                }
            }
            localPart = String(decoding: localBytes, as: UTF8.self)
        } else {
            guard let text = String(validating: Array(localBytes), as: UTF8.self) else { return .failure(.localPartCharacter) }
            localPart = text.precomposedStringWithCanonicalMapping
            for scalar in localPart.unicodeScalars {
                if scalar.isASCII {
                    let c = UInt8(scalar.value)
                    let isAlnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
                    if !isAlnum && c != UInt8(ascii: ".") && !atextSymbols[Int(c)] { return .failure(.localPartCharacter) }
                } else {
                    let p = scalar.properties
                    if p.isWhitespace || p.generalCategory == .control || p.generalCategory == .format { return .failure(.whitespace) }
                    if !(p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark
                         || p.generalCategory == .spacingMark) {
                        return .failure(.localPartCharacter)
                    }
                }
            }
        }
        if localPart.utf8.count > 64 { return .failure(.localPartTooLong) }
        if localPart.hasPrefix(".") || localPart.hasSuffix(".") || localPart.contains("..") { return .failure(.localPartDots) }

        switch normalizeDomain(buffer: domainBytes) {
        case .failure(let problem): return .failure(problem)
        case .success(let domain):
            if localPart.utf8.count + 1 + domain.utf8.count > 254 { return .failure(.tooLong) }
            return .success(EmailAddress(localPart: localPart, domain: domain))
        }
    }

    /// Lowercase ASCII (A-label) form of a domain, or why it cannot be one.
    public static func normalizeDomain<Bytes: Collection>(_ input: Bytes) -> Result<String, SyntaxError> where Bytes.Element == UInt8 {
        let bytes = Array(input)
        return bytes.withUnsafeBufferPointer { normalizeDomain(buffer: $0) }
    }

    static func normalizeDomain(buffer input: UnsafeBufferPointer<UInt8>) -> Result<String, SyntaxError> {
        var bytes = input
        if bytes.last == UInt8(ascii: ".") { bytes = UnsafeBufferPointer(rebasing: bytes.dropLast()) }
        if bytes.isEmpty { return .failure(.domainEmpty) }
        if bytes.first == UInt8(ascii: "[") { return .failure(.domainLiteral) }
        if bytes.allSatisfy({ $0 < 0x80 }) {
            // ASCII: lowercase straight into the String's storage, check it in place.
            let domain = String(unsafeUninitializedCapacity: bytes.count) { out in
                for i in 0..<bytes.count {
                    let c = bytes[i]
                    out[i] = (c >= 65 && c <= 90) ? c + 32 : c
                }
                return bytes.count
            }
            var copy = domain
            if let problem = copy.withUTF8({ checkLabels($0) }) { return .failure(problem) }
            return .success(domain)
        }
        // Unicode: IDNA conversion label by label.
        guard let text = String(validating: Array(bytes), as: UTF8.self) else { return .failure(.domainLabel) }
        // Ideographic and fullwidth full stops separate labels too (IDNA).
        var unified = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\u{3002}", "\u{FF0E}", "\u{FF61}": unified.append(".")
            default: unified.append(scalar)
            }
        }
        let lowered = String(unified).lowercased()
        // NFC only when something can change: a combining mark, a singleton or excluded
        // decomposition, or conjoining Hangul jamo (Foundation's normalization is the costly step).
        let folded = lowered.unicodeScalars.contains {
            $0.properties.canonicalCombiningClass != .notReordered || $0.properties.isFullCompositionExclusion
                || (0x1100...0x11FF).contains($0.value) || (0xA960...0xA97F).contains($0.value) || (0xD7B0...0xD7FF).contains($0.value)
        } ? lowered.precomposedStringWithCanonicalMapping : lowered
        var labels: [String] = []
        for label in folded.split(separator: ".", omittingEmptySubsequences: false) {
            for scalar in label.unicodeScalars where !scalar.isASCII {
                let p = scalar.properties
                guard p.isAlphabetic || p.numericType != nil || p.generalCategory == .nonspacingMark
                      || p.generalCategory == .spacingMark else { return .failure(.domainLabel) }
            }
            guard let a = Punycode.toASCII(label: String(label)) else { return .failure(.domainLabel) }
            labels.append(a)
        }
        let ascii = Array(labels.joined(separator: ".").utf8)
        if let problem = ascii.withUnsafeBufferPointer({ checkLabels($0) }) { return .failure(problem) }
        return .success(String(decoding: ascii, as: UTF8.self))
    }

    /// LDH labels of 1–63 octets, at least two, no numeric or special-use top level.
    static func checkLabels(_ ascii: UnsafeBufferPointer<UInt8>) -> SyntaxError? {
        if ascii.count > 253 { return .domainTooLong }
        var labelCount = 0, labelStart = 0, lastStart = 0
        for i in 0...ascii.count where i == ascii.count || ascii[i] == UInt8(ascii: ".") {
            let length = i - labelStart
            guard (1...63).contains(length), ascii[labelStart] != UInt8(ascii: "-"), ascii[i - 1] != UInt8(ascii: "-") else {
                return .domainLabel
            }
            for j in labelStart..<i {
                let c = ascii[j]
                guard (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == UInt8(ascii: "-") else { return .domainLabel }
            }
            labelCount += 1
            lastStart = labelStart
            labelStart = i + 1
        }
        if labelCount < 2 { return .domainSingleLabel }
        let tld = UnsafeBufferPointer(rebasing: ascii[lastStart...])
        if tld.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return .domainNumericTLD }
        for name in specialUseBytes where name.count == tld.count && name.elementsEqual(tld) { return .domainSpecialUse }
        return nil
    }

    static let specialUseBytes: [[UInt8]] = specialUse.map { Array($0.utf8) }
}
