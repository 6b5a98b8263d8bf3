import ControlPlaneCore
import FastCGI
import Foundation
import Postgres

/// `/internal/webhook-endpoints`: subscriptions to lifecycle events. The signing secret is
/// shown once, at creation.
enum WebhookEndpointHandlers {
    struct CreateBody: Decodable {
        var url: String
        var events: [String]
    }

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let body = try context.decodeStrictJSON(CreateBody.self, allowedKeys: ["url", "events"])
        var problems: [Problem.InvalidParam] = []
        if let p = urlProblem(body.url) { problems.append(.init(name: "url", reason: p)) }
        if body.events.isEmpty || body.events.count > 50 {
            problems.append(.init(name: "events", reason: "must list 1 to 50 event types"))
        } else if let unknown = body.events.first(where: { $0 != "*" && !TenantEvents.all.contains($0) && !WebhookOperationalEvents.all.contains($0) }) {
            let known = (TenantEvents.all + WebhookOperationalEvents.all).joined(separator: ", ")
            problems.append(.init(name: "events", reason: "\(unknown.prefix(64)) is not an event type; known: \(known), or *"))
        }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        // Resolved now (and again at every delivery): no receiver inside the network.
        if case .failure(let refusal) = context.settings.webhookDestinations.check(body.url) {
            throw Problem.validation("url", refusal.reason)
        }
        guard let keys = context.settings.secretKeys else {
            throw Problem(503, type: .webhooksNotConfigured,
                          detail: "Webhook endpoints need CONTROLPLANE_SECRETS_KEYS on this server (signing secrets are kept encrypted).")
        }
        let secret = StandardWebhooks.generateSecret()
        let endpoint = try context.audited(actor: principal.actor, action: "webhook_endpoint.create") { db in
            let made = try WebhookEndpointStore(db: db).create(url: body.url, events: Array(Set(body.events)).sorted(), secret: secret, keys: keys)
            return (made, target: "webhook_endpoint:\(made.id)", summary: made.events.joined(separator: ", "))  // never the secret
        }
        var json = JSONWriter()
        json.beginObject()
        json.key("id"); json.string(endpoint.id)
        json.key("url"); json.string(endpoint.url)
        json.key("events"); json.beginArray(); endpoint.events.forEach { json.string($0) }; json.endArray()
        json.key("secret"); json.string(secret)
        json.key("createdAt"); json.timestamp(endpoint.createdAt)
        json.endObject()
        return .jsonBytes(json.bytes, status: 201)
    }

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 2)
        try query.finish()
        let page = try WebhookEndpointStore(db: context.database).list(after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, endpoint in
            json.beginObject()
            json.key("id"); json.string(endpoint.id)
            json.key("url"); json.string(endpoint.url)
            json.key("events"); json.beginArray(); endpoint.events.forEach { json.string($0) }; json.endArray()
            json.key("createdAt"); json.timestamp(endpoint.createdAt)
            json.key("disabled"); json.bool(endpoint.disabled)
            json.key("state"); json.string(endpoint.state)
            json.key("failingSince"); json.timestamp(endpoint.failingSince)
            json.key("nextAttemptAt"); json.timestamp(endpoint.nextAttemptAt)
            json.key("consecutiveFailures"); json.int(endpoint.consecutiveFailures)
            json.key("disabledReason"); json.string(endpoint.disabledReason)
            json.key("backlog"); json.int(endpoint.backlog)
            json.endObject()
        })
    }

    @Sendable static func delete(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let id = context.parameter("id")
        try context.audited(actor: principal.actor, action: "webhook_endpoint.delete") { db in
            (try WebhookEndpointStore(db: db).delete(id), target: "webhook_endpoint:\(id)", summary: nil)
        }
        return Response(status: 204)
    }

    /// The delivery log of one endpoint: every attempt, newest first.
    @Sendable static func deliveries(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        var query = context.query
        let limit = query.limit(default: 200, max: 1000), cursor = query.cursor(parts: 1)
        try query.finish()
        let id = context.parameter("id")
        try WebhookEndpointStore(db: context.database).requireExists(id)
        let page = try WebhookDeliveryAttemptStore(db: context.database).list(endpointId: id, after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, attempt in
            json.beginObject()
            json.key("messageId"); json.string(attempt.messageId)
            json.key("eventType"); json.string(attempt.eventType)
            json.key("messageStatus"); json.string(attempt.messageStatus)
            json.key("attempt"); json.int(attempt.attempt)
            json.key("attemptedAt"); json.timestamp(attempt.attemptedAt)
            json.key("statusCode"); if let code = attempt.statusCode { json.int(code) } else { json.null() }
            json.key("error"); json.string(attempt.error)
            json.key("durationMs"); json.int(attempt.durationMs)
            json.endObject()
        })
    }

    static func urlProblem(_ text: String) -> String? {
        guard text.utf8.count <= 2000, let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty, url.user == nil, url.password == nil,
              url.fragment == nil else {
            return "must be an absolute http(s) URL without credentials or fragment"
        }
        return nil
    }
}
