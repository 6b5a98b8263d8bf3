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
        try context.requireScope(.webhooksManage)
        let body = try context.decodeStrictJSON(CreateBody.self, allowedKeys: ["url", "events"])
        var problems: [HTTPError.InvalidParam] = []
        if let p = urlProblem(body.url) { problems.append(.init(name: "url", reason: p)) }
        if body.events.isEmpty || body.events.count > 50 {
            problems.append(.init(name: "events", reason: "must list 1 to 50 event types"))
        } else if let unknown = body.events.first(where: { $0 != "*" && !TenantEvents.all.contains($0) }) {
            problems.append(.init(name: "events", reason: "\(unknown.prefix(64)) is not an event type; known: \(TenantEvents.all.joined(separator: ", ")), or *"))
        }
        guard problems.isEmpty else { throw HTTPError.validation(problems) }
        let secret = StandardWebhooks.generateSecret()
        let events = Array(Set(body.events)).sorted()
        let rows = try context.database.query("""
            INSERT INTO webhook_endpoints (url, events, secret) VALUES (\(body.url), string_to_array(\(events.joined(separator: ",")), ','), \(secret))
            RETURNING id::text, created_at
            """)
        var json = JSONWriter()
        json.beginObject()
        json.key("id"); json.string(try rows.decode(0, 0, as: String.self))
        json.key("url"); json.string(body.url)
        json.key("events"); json.beginArray(); events.forEach { json.string($0) }; json.endArray()
        json.key("secret"); json.string(secret)
        json.key("createdAt"); rows.withBytes(0, 1) { Timestamp.write($0, to: &json) }
        json.endObject()
        return .jsonBytes(json.bytes, status: 201)
    }

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        let rows = try context.database.query("""
            SELECT id::text, url, array_to_string(events, ','), created_at, disabled_at IS NOT NULL
            FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at, id
            """, retryOnConnectionLoss: true)
        let body = try JSONWriter.list(count: rows.count) { json, row in
            json.beginObject()
            json.key("id"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("url"); rows.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("events"); json.beginArray()
            try rows.decode(row, 2, as: String.self).split(separator: ",").forEach { json.string(String($0)) }
            json.endArray()
            json.key("createdAt"); rows.withBytes(row, 3) { Timestamp.write($0, to: &json) }
            json.key("disabled"); json.bool(try rows.decode(row, 4, as: Bool.self))
            json.endObject()
        }
        return .jsonBytes(body)
    }

    @Sendable static func delete(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        let id = context.parameter("id")
        guard TenantValidation.isUUID(id) else { throw HTTPError.notFound("No such webhook endpoint.") }
        let rows = try context.database.query(
            "UPDATE webhook_endpoints SET deleted_at = now() WHERE id = \(id)::uuid AND deleted_at IS NULL")
        guard rows.affectedRows == 1 else { throw HTTPError.notFound("No such webhook endpoint.") }
        return Response(status: 204)
    }

    /// The delivery log of one endpoint: every attempt, newest first.
    @Sendable static func deliveries(_ context: RequestContext) throws -> Response {
        try context.requireScope(.webhooksManage)
        let id = context.parameter("id")
        guard TenantValidation.isUUID(id) else { throw HTTPError.notFound("No such webhook endpoint.") }
        let exists = try context.database.query("SELECT 1 FROM webhook_endpoints WHERE id = \(id)::uuid", retryOnConnectionLoss: true)
        guard exists.count == 1 else { throw HTTPError.notFound("No such webhook endpoint.") }
        let rows = try context.database.query("""
            SELECT o.message_id, o.event_type, o.status, a.attempt, a.attempted_at, a.status_code, a.error, a.duration_ms
            FROM webhook_delivery_attempts a JOIN webhook_outbox o ON o.id = a.outbox_id
            WHERE o.endpoint_id = \(id)::uuid ORDER BY a.id DESC LIMIT 200
            """, retryOnConnectionLoss: true)
        let body = try JSONWriter.list(count: rows.count) { json, row in
            json.beginObject()
            json.key("messageId"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("eventType"); rows.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("messageStatus"); rows.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("attempt"); json.int(try rows.decode(row, 3, as: Int.self))
            json.key("attemptedAt"); rows.withBytes(row, 4) { Timestamp.write($0, to: &json) }
            json.key("statusCode"); if let code = try rows.decodeIfPresent(row, 5, as: Int.self) { json.int(code) } else { json.null() }
            json.key("error"); rows.withBytes(row, 6) { json.string(utf8: $0) }
            json.key("durationMs"); json.int(try rows.decode(row, 7, as: Int.self))
            json.endObject()
        }
        return .jsonBytes(body)
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
