import ControlPlaneCore
import FastCGI
import Foundation
import Postgres

/// `POST /internal/provisioning/callbacks`: the provisioner reports progress, signed per
/// Standard Webhooks with `CONTROLPLANE_PROVISIONER_SECRET` (or any of `…_SECRETS`, during a rotation). A `webhook-id` is applied once:
/// a replay answers 200 and changes nothing.
enum ProvisioningCallbackHandler {
    struct Body: Decodable {
        var tenantId: String
        var event: String
        var siteHostname: String?
        var error: String?
    }

    @Sendable static func receive(_ context: RequestContext) throws -> Response {
        let keys = context.settings.provisionerSecrets.compactMap(StandardWebhooks.key(fromSecret:))
        guard !keys.isEmpty else {
            throw Problem(503, type: .callbacksNotConfigured, detail: "Provisioning callbacks are not configured on this server.")
        }
        let headers = context.request.headers
        switch StandardWebhooks.verify(keys: keys, id: headers["webhook-id"], timestamp: headers["webhook-timestamp"],
                                       signatures: headers["webhook-signature"], body: context.request.body) {
        case .success: break
        case .failure(let failure):
            let detail = switch failure {
            case .missingHeaders: "Sign the callback: webhook-id, webhook-timestamp and webhook-signature are required."
            case .malformedTimestamp: "webhook-timestamp must be unix seconds."
            case .timestampOutOfTolerance: "webhook-timestamp is more than 5 minutes away from now."
            case .badSignature: "No signature matches."
            }
            throw Problem(401, type: .badSignature, detail: detail)
        }
        let webhookId = headers["webhook-id"]!
        guard webhookId.utf8.count <= 200 else { throw Problem.validation("webhook-id", "must be at most 200 bytes") }
        let body = try context.decodeStrictJSON(Body.self, allowedKeys: ["tenantId", "event", "siteHostname", "error"])
        let action: TenantAction
        switch body.event {
        case "site.created": action = .siteCreated
        case "site.failed": action = .siteFailed
        case "site.deleted": action = .siteDeleted
        default: throw Problem.validation([.init(name: "event", reason: "must be site.created, site.failed or site.deleted")])
        }
        var problems: [Problem.InvalidParam] = []
        if !TenantValidation.isUUID(body.tenantId) { problems.append(.init(name: "tenantId", reason: "must be a tenant id")) }
        if action == .siteCreated {
            if let host = body.siteHostname {
                if let p = TenantValidation.hostnameProblem(host) { problems.append(.init(name: "siteHostname", reason: p)) }
            } else {
                problems.append(.init(name: "siteHostname", reason: "is required for site.created"))
            }
        }
        if let error = body.error, error.count > 1000 { problems.append(.init(name: "error", reason: "must be at most 1000 characters")) }
        guard problems.isEmpty else { throw Problem.validation(problems) }

        let reason = action == .siteFailed ? (body.error ?? "site creation failed") : "provisioner: \(body.event)"
        let status = try TenantService(db: context.database, actor: "provisioner", traceId: context.traceId).applyCallback(
            webhookId: webhookId, tenantId: body.tenantId, event: body.event, action: action, reason: reason,
            siteHostname: action == .siteCreated ? body.siteHostname : nil)
        var json = JSONWriter()
        json.beginObject()
        json.key("tenantId"); json.string(body.tenantId)
        if let status {
            json.key("applied"); json.bool(true)
            json.key("status"); json.string(status.rawValue)
        } else {
            json.key("applied"); json.bool(false)
            json.key("detail"); json.string("This webhook-id was already applied.")
        }
        json.endObject()
        return Response.jsonBytes(json.bytes)
    }
}
