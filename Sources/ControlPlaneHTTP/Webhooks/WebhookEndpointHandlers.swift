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
        var description: String?
    }

    /// The endpoint operations as this request's caller, audited with its trace id.
    static func service(_ context: RequestContext, actor: String) -> WebhookEndpointService {
        WebhookEndpointService(db: context.database, actor: actor, traceId: context.traceId, keys: context.settings.secretKeys,
                               destinations: context.settings.webhookDestinations)
    }

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let body = try context.decodeStrictJSON(CreateBody.self, allowedKeys: ["url", "events", "description"])
        let (endpoint, secret) = try service(context, actor: principal.actor).create(url: body.url, events: body.events, description: body.description)
        var json = JSONWriter()
        WebhookEndpointService.writeCreated(endpoint, secret: secret, to: &json)
        return .jsonBytes(json.bytes, status: 201)
    }

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 2)
        try query.finish()
        let page = try WebhookEndpointStore(db: context.database).list(after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, endpoint in WebhookEndpointStore.write(endpoint, to: &json) })
    }

    @Sendable static func delete(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        try service(context, actor: principal.actor).delete(context.parameter("id"))
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
        return .jsonBytes(JSONWriter.list(page) { json, attempt in WebhookDeliveryAttemptStore.write(attempt, to: &json) })
    }

    struct ResendBody: Decodable { var endpointId: String? }

    /// `POST /internal/webhook-messages/{id}/resend`: the message (its `webhook-id`) queued again,
    /// at every endpoint that had it or at `endpointId`.
    @Sendable static func resend(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let body = context.request.body.isEmpty ? ResendBody() : try context.decodeStrictJSON(ResendBody.self, allowedKeys: ["endpointId"])
        let messageId = context.parameter("id")
        let count = try service(context, actor: principal.actor).resend(messageId: messageId, endpointId: body.endpointId)
        return .jsonBytes(requeued(count, messageId: messageId), status: 202)
    }

    struct RecoverBody: Decodable { var since: String }

    /// `POST /internal/webhook-endpoints/{id}/recover {"since"}`: the endpoint's dead messages since then, queued again.
    @Sendable static func recover(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let body = try context.decodeStrictJSON(RecoverBody.self, allowedKeys: ["since"])
        let count = try service(context, actor: principal.actor).recover(context.parameter("id"), since: body.since)
        return .jsonBytes(requeued(count, messageId: nil), status: 202)
    }

    /// `POST /internal/webhook-endpoints/{id}/rotate-secret`: a new signing secret, shown once;
    /// the sync signs with both during the overlap (`CONTROLPLANE_WEBHOOK_SECRET_OVERLAP_SECONDS`).
    @Sendable static func rotateSecret(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.webhooksManage)
        let secret = try service(context, actor: principal.actor).rotateSecret(context.parameter("id"))
        var json = JSONWriter()
        json.beginObject()
        json.key("secret"); json.string(secret)
        json.endObject()
        return .jsonBytes(json.bytes)
    }

    /// `GET /internal/webhooks/event-types`: every event type with the JSON Schema of its messages.
    @Sendable static func eventTypes(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        let query = context.query
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
        let messageId = try service(context, actor: principal.actor).sendTest(context.parameter("id"))
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
        let row = try service(context, actor: principal.actor)
            .update(context.parameter("id"), .init(url: body.url, events: body.events, description: body.description, enabled: body.enabled))
        var json = JSONWriter()
        WebhookEndpointStore.write(row, to: &json)
        return .jsonBytes(json.bytes)
    }
}
