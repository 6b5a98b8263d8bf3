import Foundation

/// What a service token may do on `/internal/*`. `all` on a token grants every scope.
public enum Scope: String, CaseIterable, Sendable {
    case tenantsRead = "tenants:read"
    case tenantsWrite = "tenants:write"
    case connectorsWrite = "connectors:write"
    case webhooksManage = "webhooks:manage"
    case trialRead = "trial:read"
    case trialReview = "trial:review"
    case domainsManage = "domains:manage"
    case operationsRead = "operations:read"
    case auditRead = "audit:read"

    /// Parses `a,b` or `all`; nil names the first unknown scope.
    public static func parseList(_ text: String) -> Result<[Scope], UnknownScope> {
        var scopes: [Scope] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            if part == "all" { return .success(Scope.allCases) }
            guard let scope = Scope(rawValue: part) else { return .failure(UnknownScope(name: part)) }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return .success(scopes)
    }

    public struct UnknownScope: Error, CustomStringConvertible {
        public let name: String
        public var description: String {
            "unknown scope \(name); known: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")), or all"
        }
    }
}
