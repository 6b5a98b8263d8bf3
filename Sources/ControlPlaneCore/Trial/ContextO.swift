/// The CONTEXTO rules of IDNA2008 (RFC 5892, Appendix A.3–A.9), which libidn2 2.3 does not
/// check: punctuation and digits that are valid in a label only in the right company.
enum ContextO {
    /// Whether a code point is one the rules govern (the check runs only when one appears).
    static func isRuled(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB, 0x0660...0x0669, 0x06F0...0x06F9: true
        default: false
        }
    }

    /// Every label of a (mapped, lowercase) Unicode domain name satisfies the rules.
    static func allows(_ domain: String) -> Bool {
        domain.split(separator: ".").allSatisfy { allowsLabel(Array($0.unicodeScalars)) }
    }

    static func allowsLabel(_ label: [Unicode.Scalar]) -> Bool {
        let arabicIndic = label.contains { (0x0660...0x0669).contains($0.value) }
        let extendedArabicIndic = label.contains { (0x06F0...0x06F9).contains($0.value) }
        if arabicIndic && extendedArabicIndic { return false }  // A.8, A.9: never both kinds of digits
        for (index, scalar) in label.enumerated() {
            let before = index > 0 ? label[index - 1] : nil
            let after = index + 1 < label.count ? label[index + 1] : nil
            switch scalar.value {
            case 0x00B7:  // A.3 MIDDLE DOT: between two l (Catalan l·l)
                guard before == "l", after == "l" else { return false }
            case 0x0375:  // A.4 GREEK KERAIA: followed by Greek
                guard let after, isGreek(after) else { return false }
            case 0x05F3, 0x05F4:  // A.5, A.6 HEBREW GERESH, GERSHAYIM: after Hebrew
                guard let before, isHebrew(before) else { return false }
            case 0x30FB:  // A.7 KATAKANA MIDDLE DOT: in a label with Hiragana, Katakana or Han
                guard label.contains(where: { $0.value != 0x30FB && isJapanese($0) }) else { return false }
            default: continue
            }
        }
        return true
    }

    static func isGreek(_ s: Unicode.Scalar) -> Bool {
        ((0x0370...0x03FF).contains(s.value) && s.value != 0x0375 && s.value != 0x037E) || (0x1F00...0x1FFF).contains(s.value)
    }
    static func isHebrew(_ s: Unicode.Scalar) -> Bool { (0x0591...0x05F4).contains(s.value) || (0xFB1D...0xFB4F).contains(s.value) }
    static func isJapanese(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x3040...0x309F, 0x30A0...0x30FF, 0x31F0...0x31FF, 0x3005, 0x3007, 0x3021...0x3029, 0x3038...0x303B,
             0x3400...0x4DBF, 0x4E00...0x9FFF, 0xF900...0xFAFF, 0x20000...0x3FFFF: true
        default: false
        }
    }
}
