/// Field rules for tenants, shared by the HTTP handlers and cpctl.
public enum TenantValidation {
    public static func slugProblem(_ slug: String) -> String? {
        let bytes = Array(slug.utf8)
        guard (1...63).contains(bytes.count) else { return "must be 1 to 63 characters" }
        let allowed = bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        guard allowed, bytes.first != 45, bytes.last != 45 else {
            return "must be lowercase letters, digits and inner hyphens"
        }
        return nil
    }

    public static func displayNameProblem(_ name: String) -> String? {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard (1...200).contains(trimmed.count) else { return "must be 1 to 200 characters" }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return "must not contain control characters"
        }
        return nil
    }

    /// A plain shape check; the trial funnel's classifier is the full one.
    public static func emailProblem(_ email: String) -> String? {
        guard (3...254).contains(email.utf8.count) else { return "must be 3 to 254 bytes" }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !email.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control })
        else { return "must be an email address" }
        return nil
    }

    public static func planProblem(_ plan: String) -> String? {
        let bytes = Array(plan.utf8)
        guard (1...40).contains(bytes.count),
              bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }) else {
            return "must be 1 to 40 of a-z, 0-9, - and _"
        }
        return nil
    }

    public static func hostnameProblem(_ host: String) -> String? {
        let bytes = Array(host.utf8)
        guard (1...253).contains(bytes.count),
              bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 }),
              !host.hasPrefix("."), !host.hasSuffix("."), !host.contains(".."),
              host.split(separator: ".").allSatisfy({ $0.utf8.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-") })
        else { return "must be a lowercase DNS hostname" }
        return nil
    }

    /// `8-4-4-4-12` hex: anything else cannot be a tenant id (answered 404, never sent to SQL).
    public static func isUUID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if b != 45 { return false }
            } else if !((b >= 48 && b <= 57) || (b >= 97 && b <= 102) || (b >= 65 && b <= 70)) {
                return false
            }
        }
        return true
    }
}
