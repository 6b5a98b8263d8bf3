import ControlPlaneCore
import FastCGI

/// `PATCH /internal/tenant-connector-metadata`: sets or clears a tenant's connector kind
/// and credential reference. A secret-looking reference is refused with 422, never
/// stored, and never echoed or logged.
enum ConnectorHandler {
    struct Body: Decodable {
        var tenantId: String
        var connectorKind: String?
        var connectorCredentialRef: String?
    }

    @Sendable static func patch(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.connectorsWrite)
        let body = try context.decodeStrictJSON(Body.self, allowedKeys: ["tenantId", "connectorKind", "connectorCredentialRef"])
        var problems: [Problem.InvalidParam] = []
        if let kind = body.connectorKind, !CredentialReference.connectorKinds.contains(kind) {
            problems.append(.init(name: "connectorKind", reason: "must be one of \(CredentialReference.connectorKinds.joined(separator: ", "))"))
        }
        if let ref = body.connectorCredentialRef {
            switch CredentialReference.check(ref, tenantId: body.tenantId) {
            case .reference: break
            case .malformed(let why): problems.append(.init(name: "connectorCredentialRef", reason: why))
            case .looksLikeSecret(let why):
                problems.append(.init(name: "connectorCredentialRef",
                                      reason: "looks like credential material (\(why)); store the secret in a secret store and send its reference, e.g. kv:erp_cred:<tenant>"))
            }
            if body.connectorKind == nil {
                problems.append(.init(name: "connectorKind", reason: "is required with a credential reference"))
            }
        }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        return .jsonBytes(try TenantService(db: context.database, actor: principal.actor, traceId: context.traceId)
            .setConnector(body.tenantId, kind: body.connectorKind, credentialRef: body.connectorCredentialRef))
    }
}
