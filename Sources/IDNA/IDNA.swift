import CIDN2

/// Domain names through libidn2, wrapped once: UTS 46 non-transitional processing (case
/// folding, width and compatibility mapping, NFC), then IDNA2008 validity (bidi, CONTEXTJ,
/// hyphen rules) and, for `xn--` input, the A-label round trip.
///
/// STD3 is not asked of libidn2: 2.3 drops a character that STD3 forbids (`_`, `@`, a space
/// that U+00A0 maps to) instead of refusing the name, so `ａ＿ｂ.com` would become `ab.com`.
/// Without the flag such characters stay in the output, and the caller's letters-digits-
/// hyphens check on it refuses them. CONTEXTO (RFC 5892 A.3–A.9) is not checked by libidn2
/// 2.3 either; `toUnicode` gives the caller the mapped labels to check it on.
public enum IDNA {
    /// Why libidn2 refused a name: its error's name (e.g. `IDN2_BIDI`), never the input.
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let code: Int32
        public var description: String { String(cString: idn2_strerror_name(code)) }
    }

    /// The ASCII (A-label) form of a whole domain name, lowercase.
    public static func toASCII(_ domain: String) -> Result<String, Refusal> {
        let flags = Int32(IDN2_NONTRANSITIONAL.rawValue | IDN2_ALABEL_ROUNDTRIP.rawValue)
        return convert(domain) { idn2_to_ascii_8z($0, &$1, flags) }
    }

    /// The Unicode (U-label) form of an ASCII domain name.
    public static func toUnicode(_ domain: String) -> Result<String, Refusal> {
        convert(domain) { idn2_to_unicode_8z8z($0, &$1, 0) }
    }

    private static func convert(_ input: String,
                                _ call: (UnsafePointer<CChar>, inout UnsafeMutablePointer<CChar>?) -> Int32) -> Result<String, Refusal> {
        var output: UnsafeMutablePointer<CChar>?
        let code = input.withCString { call($0, &output) }
        defer { if let output { idn2_free(output) } }
        guard code == Int32(IDN2_OK.rawValue), let output else { return .failure(Refusal(code: code)) }
        return .success(String(cString: output))
    }
}
