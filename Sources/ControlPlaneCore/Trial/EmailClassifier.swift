/// The answer of `POST /v1/trial/email/check`.
public struct EmailClassification: Sendable, Equatable {
    public enum Kind: String, Sendable { case work, free, disposable, invalid, blocked, existingTenant = "existing_tenant" }
    public enum Next: String, Sendable { case selfServe = "self_serve", manualApproval = "manual_approval", reject }

    public var classification: Kind
    public var domain: String?
    public var next: Next
    public var reason: String
    /// The normalized address (never returned to the client; hashed for the attempt log).
    public var address: String?
}

/// Classifies an address against the dictionary, in memory. Rules (README):
/// invalid syntax → `invalid`; otherwise the most specific listed domain among the address's
/// domain and its parents decides: `allowed` → work, `blocked` → blocked, `disposable` →
/// disposable, `free` → free (`mail.yahoo.co.kr` is free because `yahoo.co.kr` is).
/// Work addresses go `self_serve`; free ones to `manual_approval` (prove a work email);
/// disposable, blocked and invalid ones are rejected. Whether a work domain already has a
/// tenant (`existing_tenant`) is decided by the caller against the database.
public enum EmailClassifier {
    public static func classify(_ input: String, table: DomainTable) -> EmailClassification {
        let address: EmailAddress
        switch EmailAddress.parse(input) {
        case .failure(let problem):
            return EmailClassification(classification: .invalid, domain: nil, next: .reject, reason: problem.rawValue, address: nil)
        case .success(let parsed):
            address = parsed
        }
        var domain = address.domain
        let listed = domain.withUTF8 { table.match($0) }
        let kind: EmailClassification.Kind
        let next: EmailClassification.Next
        let reason: String
        switch listed?.kind {
        case .blocked?: (kind, next, reason) = (.blocked, .reject, "this domain is not accepted for trials")
        case .disposable?: (kind, next, reason) = (.disposable, .reject, "disposable addresses are not accepted")
        case .free?: (kind, next, reason) = (.free, .manualApproval, "free-mail address: verify a work email to apply")
        case .allowed?, nil: (kind, next, reason) = (.work, .selfServe, "work address")
        }
        return EmailClassification(classification: kind, domain: address.domain, next: next, reason: reason, address: address.normalized)
    }

    /// The same verdict for an existing tenant's domain.
    public static func existingTenant(_ result: EmailClassification) -> EmailClassification {
        var result = result
        result.classification = .existingTenant
        result.next = .reject
        result.reason = "an organization with this domain already has an account: ask its administrator for access"
        return result
    }
}
