/// The names of operators and service tokens: lowercase letters, digits, `.`, `_`, `-`, up to 63
/// bytes, starting with a letter or digit (the tables' CHECK constraints say the same). Checked
/// before a row is written, because a violated CHECK makes PostgreSQL log the whole failing row.
public enum AccessName {
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, (1...63).contains(name.utf8.count) else { return false }
        let allowed = { (c: UInt8) in (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        return allowed(first) && name.utf8.allSatisfy { allowed($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}
