import Foundation

/// Connector credentials are held in a secret store; the control plane keeps only a
/// reference to them. A reference is `<scheme>:<path>` with a documented scheme
/// (`kv:erp_cred:<tenant>`, `vault:secret/data/erp/<tenant>`, `aws-sm:…`, `gcp-sm:…`,
/// `azure-kv:…`); a value that looks like credential material is refused.
public enum CredentialReference {
    public static let schemes = ["kv", "vault", "aws-sm", "gcp-sm", "azure-kv"]
    public static let connectorKinds = ["frappe", "odoo", "sap_b1", "netsuite", "dynamics365"]

    public enum Verdict: Equatable {
        case reference
        /// Not of the reference form at all.
        case malformed(String)
        /// Shaped like a secret: refused and never stored or logged.
        case looksLikeSecret(String)
    }

    /// A reference stored on a tenant must name that tenant: its id is one segment of the
    /// path (segments split on `:` and `/`), and no other tenant id appears. So
    /// `kv:erp_cred:<tenant id>`, `vault:secret/data/erp/<tenant id>/db` or an ARN whose name is
    /// `<tenant id>` pass, and `kv:erp_cred:<another tenant>` is refused: whoever resolves
    /// references would otherwise hand one tenant's connector another tenant's credentials.
    public static func check(_ value: String, tenantId: String) -> Verdict {
        let verdict = check(value)
        guard verdict == .reference else { return verdict }
        let path = value[value.index(after: value.firstIndex(of: ":")!)...]
        let segments = path.split(whereSeparator: { $0 == ":" || $0 == "/" }).map { $0.lowercased() }
        let tenant = tenantId.lowercased()
        guard segments.contains(tenant) else {
            return .malformed("must name this tenant: put its id as one segment of the path, e.g. kv:erp_cred:\(tenantId)")
        }
        let others = segments.flatMap(uuids(in:)).filter { $0 != tenant }
        guard others.isEmpty else { return .malformed("names another tenant; a reference may name only the tenant it is stored on") }
        return .reference
    }

    /// Every UUID-shaped run inside a segment (also one glued to other text).
    static func uuids(in segment: String) -> [String] {
        let bytes = Array(segment.utf8)
        guard bytes.count >= 36 else { return [] }
        return (0...(bytes.count - 36)).compactMap { start in
            let candidate = String(decoding: bytes[start..<start + 36], as: UTF8.self)
            return TenantValidation.isUUID(candidate) ? candidate.lowercased() : nil
        }
    }

    public static func check(_ value: String) -> Verdict {
        let lower = value.lowercased()
        // Secret shapes first, so a secret wrapped in a valid scheme is still refused.
        if lower.contains("-----begin") || lower.contains("private key") { return .looksLikeSecret("contains a PEM block") }
        for marker in ["password=", "passwd=", "pwd=", "secret=", "token=", "apikey=", "api_key=", "://", "bearer "]
        where lower.contains(marker) {
            return .looksLikeSecret("contains an inline credential")
        }
        if looksLikeJWT(value) { return .looksLikeSecret("is shaped like a JWT") }
        for piece in value.split(whereSeparator: { ":/@.".contains($0) }) where looksRandom(piece) {
            return .looksLikeSecret("contains a long high-entropy string")
        }
        // Base64 keys contain '/', which splits them into innocent-looking pieces: judge the
        // whole path too, with a stricter bar (all three character classes).
        let wholePath = value.firstIndex(of: ":").map { value[value.index(after: $0)...] } ?? value[...]
        if looksRandom(wholePath, minimumLength: 32, minimumClasses: 3, minimumEntropy: 4.0) {
            return .looksLikeSecret("contains a long high-entropy string")
        }
        guard let colon = value.firstIndex(of: ":"), schemes.contains(String(value[..<colon])) else {
            return .malformed("must start with one of \(schemes.map { "\($0):" }.joined(separator: ", "))")
        }
        let path = value[value.index(after: colon)...]
        let allowedPath = path.utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || "._/:@-".utf8.contains($0)
        }
        guard (1...200).contains(path.utf8.count), allowedPath else {
            return .malformed("the path after the scheme must be 1 to 200 of A-Z a-z 0-9 . _ / : @ -")
        }
        return .reference
    }

    static func looksLikeJWT(_ value: String) -> Bool {
        let parts = value.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0].contains("eyJ") && parts.allSatisfy { $0.utf8.count >= 8 }
    }

    /// 24+ characters mixing character classes with high Shannon entropy: keys and
    /// tokens look like this, tenant slugs and path words do not.
    static func looksRandom(_ piece: Substring, minimumLength: Int = 24, minimumClasses: Int = 2,
                            minimumEntropy: Double = 3.5) -> Bool {
        let bytes = Array(piece.utf8)
        // A tenant id (UUID) is an identifier, not a secret: `kv:erp_cred:<tenant id>` is the usual form.
        guard bytes.count >= minimumLength, !TenantValidation.isUUID(String(piece)) else { return false }
        var counts = [Int](repeating: 0, count: 256)
        for b in bytes { counts[Int(b)] += 1 }
        var entropy = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / Double(bytes.count)
            entropy -= p * log2(p)
        }
        let hasDigit = bytes.contains { $0 >= 48 && $0 <= 57 }
        let hasUpper = bytes.contains { $0 >= 65 && $0 <= 90 }
        let hasLower = bytes.contains { $0 >= 97 && $0 <= 122 }
        let classes = [hasDigit, hasUpper, hasLower].filter { $0 }.count
        return entropy >= minimumEntropy && classes >= minimumClasses
    }
}
