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
        try checkSettings(context, url: body.url, events: body.events)
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
        return .jsonBytes(JSONWriter.list(page) { json, endpoint in write(endpoint, to: &json) })
    }

    /// An endpoint as the API shows it (never its secret).
    static func write(_ endpoint: WebhookEndpointStore.Row, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.string(endpoint.id)
        json.key("url"); json.string(endpoint.url)
        json.key("events"); json.beginArray(); endpoint.events.forEach { json.string($0) }; json.endArray()
        json.key("description"); json.string(endpoint.description)
        json.key("createdAt"); json.timestamp(endpoint.createdAt)
        json.key("disabled"); json.bool(endpoint.disabled)
        json.key("state"); json.string(endpoint.state)
        json.key("failingSince"); json.timestamp(endpoint.failingSince)
        json.key("nextAttemptAt"); json.timestamp(endpoint.nextAttemptAt)
        json.key("consecutiveFailures"); json.int(endpoint.consecutiveFailures)
        json.key("disabledReason"); json.string(endpoint.disabledReason)
        json.key("backlog"); json.int(endpoint.backlog)
        json.endObject()
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

    struct ResendBody: Decodable { var endpointId: String? }

    /// `POST /internal/webhook-messages/{id}/resend`: the message (its `webhook-id`) queued again,
    /// at every endpoint that had it or at `endpointId`.
    @Sendable static func resend(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let body = context.request.body.isEmpty ? ResendBody() : try context.decodeStrictJSON(ResendBody.self, allowedKeys: ["endpointId"])
        if let endpoint = body.endpointId, !TenantValidation.isUUID(endpoint) { throw Problem.validation("endpointId", "must be an endpoint id") }
        let messageId = context.parameter("id")
        guard (1...200).contains(messageId.utf8.count) else { throw Problem.notFound("No such message.") }
        let count = try context.audited(actor: principal.actor, action: "webhook_message.resend") { db in
            let count = try WebhookOutboxStore(db: db).resend(messageId: messageId, endpointId: body.endpointId)
            guard count > 0 else { throw Problem.notFound("No such message\(body.endpointId == nil ? "" : " at this endpoint").") }
            return (count, target: "webhook_message:\(messageId)", summary: "\(count) queued")
        }
        return .jsonBytes(requeued(count, messageId: messageId), status: 202)
    }

    struct RecoverBody: Decodable { var since: String }

    /// `POST /internal/webhook-endpoints/{id}/recover {"since"}`: the endpoint's dead messages since then, queued again.
    @Sendable static func recover(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let body = try context.decodeStrictJSON(RecoverBody.self, allowedKeys: ["since"])
        guard RFC3339.isValid(body.since) else { throw Problem.validation("since", "must be an RFC 3339 date-time") }
        let since = body.since
        let id = context.parameter("id")
        let count = try context.audited(actor: principal.actor, action: "webhook_endpoint.recover", reason: nil) { db in
            try WebhookEndpointStore(db: db).requireExists(id)
            let count = try WebhookOutboxStore(db: db).recover(endpointId: id, since: since)
            return (count, target: "webhook_endpoint:\(id)", summary: "\(count) dead messages since \(since) queued")
        }
        return .jsonBytes(requeued(count, messageId: nil), status: 202)
    }

    /// `POST /internal/webhook-endpoints/{id}/rotate-secret`: a new signing secret, shown once;
    /// the sync signs with both during the overlap (`CONTROLPLANE_WEBHOOK_SECRET_OVERLAP_SECONDS`).
    @Sendable static func rotateSecret(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        guard let keys = context.settings.secretKeys else {
            throw Problem(503, type: .webhooksNotConfigured,
                          detail: "Webhook endpoints need CONTROLPLANE_SECRETS_KEYS on this server (signing secrets are kept encrypted).")
        }
        let id = context.parameter("id"), secret = StandardWebhooks.generateSecret()
        try context.audited(actor: principal.actor, action: "webhook_endpoint.rotate_secret") { db in
            guard try WebhookEndpointStore(db: db).rotateSecret(id, to: secret, keys: keys) else { throw WebhookEndpointStore.Failure.notFound }
            return ((), target: "webhook_endpoint:\(id)", summary: nil)  // never a secret
        }
        var json = JSONWriter()
        json.beginObject()
        json.key("secret"); json.string(secret)
        json.endObject()
        return .jsonBytes(json.bytes)
    }

    /// `GET /internal/webhooks/event-types`: every event type with the JSON Schema of its messages.
    @Sendable static func eventTypes(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        var query = context.query
        try query.finish()
        let entries = WebhookEventCatalog.entries
        return .jsonBytes(JSONWriter.list(count: entries.count) { json, index in
            let entry = entries[index]
            json.beginObject()
            json.key("type"); json.string(entry.type)
            json.key("description"); json.string(entry.description)
            json.key("schema"); json.raw(Array(WebhookEventCatalog.messageSchema(entry).utf8))
            json.endObject()
        })
    }

    /// `POST /internal/webhook-endpoints/{id}/test`: a `webhook.test` event to this endpoint now.
    @Sendable static func test(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let id = context.parameter("id")
        let messageId = try context.audited(actor: principal.actor, action: "webhook_endpoint.test") { db in
            let endpoint = try WebhookEndpointStore(db: db).get(id)
            guard !endpoint.disabled else { throw Problem.conflict("This endpoint is disabled: enable it first.", type: .illegalTransition) }
            return (try WebhookOutboxStore(db: db).enqueueTest(endpointId: id), target: "webhook_endpoint:\(id)", summary: "webhook.test")
        }
        return .jsonBytes(requeued(1, messageId: messageId), status: 202)
    }

    static func requeued(_ count: Int, messageId: String?) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        if let messageId { json.key("messageId"); json.string(messageId) }
        json.key("queued"); json.int(count)
        json.endObject()
        return json.bytes
    }

    /// The checks every endpoint's URL and event list pass, at creation and at every change.
    static func checkSettings(_ context: RequestContext, url: String?, events: [String]?) throws {
        var problems: [Problem.InvalidParam] = []
        if let url, let p = urlProblem(url) { problems.append(.init(name: "url", reason: p)) }
        if let events {
            if events.isEmpty || events.count > 50 {
                problems.append(.init(name: "events", reason: "must list 1 to 50 event types"))
            } else if let unknown = events.first(where: { $0 != "*" && !TenantEvents.all.contains($0) && !WebhookOperationalEvents.all.contains($0) }) {
                let known = (TenantEvents.all + WebhookOperationalEvents.all).joined(separator: ", ")
                problems.append(.init(name: "events", reason: "\(unknown.prefix(64)) is not an event type; known: \(known), or *"))
            }
        }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        // Resolved now (and again at every delivery): no receiver inside the network.
        if let url, case .failure(let refusal) = context.settings.webhookDestinations.check(url) {
            throw Problem.validation("url", refusal.reason)
        }
    }

    struct UpdateBody: Decodable {
        var url: String?
        var events: [String]?
        var description: String?
        var enabled: Bool?
    }

    /// `PATCH /internal/webhook-endpoints/{id}`: url, events, description, and `enabled` (true
    /// re-enables an endpoint a 410, a long failure or an operator disabled, healthy again).
    @Sendable static func update(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let body = try context.decodeStrictJSON(UpdateBody.self, allowedKeys: ["url", "events", "description", "enabled"])
        guard body.url != nil || body.events != nil || body.description != nil || body.enabled != nil else {
            throw Problem.validation("body", "change at least one of url, events, description, enabled")
        }
        if let description = body.description, description.count > 500 { throw Problem.validation("description", "at most 500 characters") }
        try checkSettings(context, url: body.url, events: body.events)
        let id = context.parameter("id")
        let changed = ["url": body.url != nil, "events": body.events != nil, "description": body.description != nil, "enabled": body.enabled != nil]
            .filter(\.value).keys.sorted().joined(separator: ", ")
        let row = try context.audited(actor: principal.actor, action: "webhook_endpoint.update") { db in
            let store = WebhookEndpointStore(db: db)
            var row = try store.update(id, url: body.url, events: body.events.map { Array(Set($0)).sorted() }, description: body.description)
            if let enabled = body.enabled { row = try store.setEnabled(id, enabled) }
            return (row, target: "webhook_endpoint:\(id)", summary: "changed \(changed)")
        }
        var json = JSONWriter()
        write(row, to: &json)
        return .jsonBytes(json.bytes)
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
