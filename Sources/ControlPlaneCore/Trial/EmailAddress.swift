import Foundation
import IDNA

/// An email address as mail systems accept it in practice (RFC 5321/5322, RFC 6531), and
/// the rules this service applies, documented in the README:
/// - leading and trailing spaces are ignored; any other whitespace or control character is invalid;
/// - at most 254 octets in all and 64 in the local part (after IDNA conversion);
/// - the local part is a dot-atom (RFC 5322 atext, dots not first, last or doubled), Unicode
///   letters and digits allowed (SMTPUTF8, NFC-normalized); quoted local parts are refused:
///   providers do not issue them and they are a common abuse vector;
/// - the domain: one trailing dot ignored; a name with any non-ASCII character goes through
///   libidn2 (UTS 46 non-transitional mapping with STD3 rules — case, width and compatibility
///   forms fold, so `ＧＭＡＩＬ.com` is `gmail.com` — then IDNA2008 validity: bidi, CONTEXTJ,
///   hyphens); an ASCII name is lowercased in place, and any `xn--` label in it must be a valid
///   A-label (libidn2's round trip). Then, in octets after conversion: labels 1–63 of letters,
///   digits and inner hyphens, no `--` in positions 3–4 but in an `xn--` label; at least two
///   labels; at most 253; a top-level label of letters or an `xn--` label; IP literals (`[…]`)
///   and the special-use names `arpa`, `invalid`, `local`, `localhost`, `onion`, `test` refused;
/// - plus and dot sub-addressing is kept as given (no provider-specific normalization).
public struct EmailAddress: Sendable, Equatable {
    public let localPart: String
    /// ASCII (A-label) form, lowercase, no trailing dot.
    public let domain: String

    public var normalized: String { localPart + "@" + domain }

    /// The mailbox behind the address, for abuse limits: case folded and `+tag` stripped
    /// (`Jane+x@acme.com` and `jane@acme.com` reach the same person).
    public var mailbox: String {
        let base = localPart.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? localPart
        return (base.isEmpty ? localPart : base).lowercased() + "@" + domain
    }

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
        case domainTLD = "the top-level domain must be letters or an internationalized (xn--) label"
        case domainHyphens = "a domain label has -- in positions 3 and 4 but is not an internationalized (xn--) label"
        case domainIDNA = "the domain is not a valid internationalized domain name (IDNA2008, UTS 46)"
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
        // On the bytes: String.contains(String) goes through Foundation's NSString search on
        // Linux, which cost 17 % of a classification (callgrind).
        let dot = UInt8(ascii: ".")
        var previousWasDot = true  // a leading dot counts as doubled
        for c in localPart.utf8 {
            if c == dot && previousWasDot { return .failure(.localPartDots) }
            previousWasDot = c == dot
        }
        if previousWasDot { return .failure(.localPartDots) }

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
            // ASCII, the common case, stays off libidn2: lowercase straight into the String's
            // storage and check it in place; only a name with an `xn--` label is validated there.
            var hasALabel = false
            let domain = String(unsafeUninitializedCapacity: bytes.count) { out in
                for i in 0..<bytes.count {
                    let c = bytes[i]
                    out[i] = (c >= 65 && c <= 90) ? c + 32 : c
                    if out[i] == UInt8(ascii: "x"), i == 0 || bytes[i - 1] == UInt8(ascii: "."), i + 3 < bytes.count,
                       bytes[i + 1] | 0x20 == UInt8(ascii: "n"), bytes[i + 2] == UInt8(ascii: "-"), bytes[i + 3] == UInt8(ascii: "-") {
                        hasALabel = true
                    }
                }
                return bytes.count
            }
            var copy = domain
            if let problem = copy.withUTF8({ checkLabels($0) }) { return .failure(problem) }
            guard hasALabel else { return .success(domain) }
            guard case .success(let ascii) = IDNA.toASCII(domain), ascii == domain, case .success(let unicode) = IDNA.toUnicode(domain),
                  !unicode.unicodeScalars.contains(where: ContextO.isRuled) || ContextO.allows(unicode) else {
                return .failure(.domainIDNA)
            }
            return .success(domain)
        }
        // Unicode: UTS 46 mapping and IDNA2008 validity through libidn2; STD3 is the
        // letters-digits-hyphens check on its output below, CONTEXTO the check after it.
        guard let text = String(validating: Array(bytes), as: UTF8.self), case .success(var ascii) = IDNA.toASCII(text) else {
            return .failure(.domainIDNA)
        }
        if ascii.hasSuffix(".") { ascii.removeLast() }  // a trailing ideographic full stop maps to "."
        if let problem = ascii.withUTF8({ checkLabels($0) }) { return .failure(problem) }
        if text.unicodeScalars.contains(where: ContextO.isRuled), case .success(let unicode) = IDNA.toUnicode(ascii),
           !ContextO.allows(unicode) {
            return .failure(.domainIDNA)
        }
        return .success(ascii)
    }

    /// LDH labels of 1–63 octets without `--` in positions 3–4 unless `xn--`, at least two,
    /// a top-level label of letters or `xn--`, not special-use.
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
            if length >= 4, ascii[labelStart + 2] == UInt8(ascii: "-"), ascii[labelStart + 3] == UInt8(ascii: "-"),
               !(ascii[labelStart] == UInt8(ascii: "x") && ascii[labelStart + 1] == UInt8(ascii: "n")) {
                return .domainHyphens
            }
            labelCount += 1
            lastStart = labelStart
            labelStart = i + 1
        }
        if labelCount < 2 { return .domainSingleLabel }
        let tld = UnsafeBufferPointer(rebasing: ascii[lastStart...])
        if tld.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return .domainNumericTLD }
        let isALabel = tld.count > 4 && tld[0] == UInt8(ascii: "x") && tld[1] == UInt8(ascii: "n") && tld[2] == UInt8(ascii: "-")
        if !isALabel && !tld.allSatisfy({ $0 >= 97 && $0 <= 122 }) { return .domainTLD }
        for name in specialUseBytes where name.count == tld.count && name.elementsEqual(tld) { return .domainSpecialUse }
        return nil
    }

    static let specialUseBytes: [[UInt8]] = specialUse.map { Array($0.utf8) }
}
