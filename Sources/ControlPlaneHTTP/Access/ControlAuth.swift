import ControlPlaneCore
import OpenSSLCrypto
import FastCGI

/// `PPOS_CONTROL_TOKEN`: the administrators' bearer token for `/control/*`. Several may be
/// accepted during a rotation (`PPOS_CONTROL_TOKENS`, comma-separated). The token is never
/// logged, echoed, counted in a metric or sent anywhere: only its hash is kept in memory.
public enum ControlTokens {
    public static func load(_ environment: Environment) throws -> [String] {
        var tokens: [String] = []
        if let one = try environment.secret("PPOS_CONTROL_TOKEN") { tokens.append(one) }
        if let several = try environment.secret("PPOS_CONTROL_TOKENS") {
            tokens += several.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        for token in tokens where token.utf8.count < 32 {
            _ = token
            throw ConfigurationError.invalid(key: "PPOS_CONTROL_TOKEN", expected: "at least 32 characters")
        }
        return tokens
    }
}

extension RequestContext {
    /// The administrator's identity for audit trails (`admin:<first 8 hex of the token's
    /// SHA-256>`), after checking the bearer token against every configured one in
    /// constant time. A service token (`cpst_…`) is not a control token: 401.
    @discardableResult
    public func requireControlToken() throws -> String {
        let challenge = ("www-authenticate", #"Bearer realm="controlplane-control""#)
        guard !settings.controlTokenHashes.isEmpty else {
            throw Problem(503, type: .controlNotConfigured, detail: "No control token is configured on this server.")
        }
        guard let token = ServiceToken.bearer(from: request.headers["authorization"]), !token.isEmpty else {
            throw Problem(401, type: .unauthenticated, detail: "Send the control token: Authorization: Bearer <token>.",
                            headers: [challenge])
        }
        let hash = ServiceToken.hash(token)
        var matched = false
        for known in settings.controlTokenHashes where constantTimeEquals(known, hash) { matched = true }
        guard matched else {
            throw Problem(401, type: .unauthenticated, detail: "The control token is not valid.", headers: [challenge])
        }
        let actor = "control:" + Hex.encode(hash.prefix(4))
        noteActor(actor)
        return actor
    }
}
