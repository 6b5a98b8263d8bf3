import ControlPlaneCore
import FastCGI

/// The console's webhook pages: endpoints, each endpoint's messages with every attempt, and
/// the operator's actions (disable or enable an endpoint, resend a dead message).
enum ConsoleWebhookPages {
    typealias Console = ConsoleHandlers

    @Sendable static func endpoints(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let cursor = query.cursor(parts: 2)
        try query.finish()
        let page = try WebhookEndpointStore(db: context.database).list(after: cursor, limit: 50)
        let endpoints: [[String: Any]] = page.items.map(delivery)
        return Console.page("webhooks", title: "Webhook endpoints", viewer: viewer, data: [
            "endpoints": endpoints, "next": Console.nextPage("/console/webhooks", filters: [], cursor: page.nextCursor) as Any,
        ], active: "webhooks")
    }

    /// An endpoint with its delivery state, as the console shows it.
    static func delivery(_ endpoint: WebhookEndpointStore.Row) -> [String: Any] {
        ["id": endpoint.id, "url": endpoint.url, "events": endpoint.events.joined(separator: ", "), "createdAt": Console.shortTime(endpoint.createdAt),
         "state": endpoint.state, "failingSince": Console.shortTime(endpoint.failingSince), "nextAttemptAt": Console.shortTime(endpoint.nextAttemptAt),
         "failures": endpoint.consecutiveFailures, "backlog": endpoint.backlog, "disabledReason": endpoint.disabledReason ?? ""]
    }

    /// A message as the console's tables show it (tenant and endpoint pages).
    static func message(_ message: WebhookOutboxStore.Message) -> [String: Any] {
        ["id": message.id, "messageId": message.messageId, "endpointId": message.endpointId, "eventType": message.eventType,
         "status": message.status, "attempts": message.attempts, "lastError": message.lastError ?? "",
         "createdAt": Console.shortTime(message.createdAt),
         "when": Console.shortTime(message.status == "pending" ? message.nextAttemptAt : message.deliveredAt ?? ""),
         "dead": message.status == "dead"]
    }

    @Sendable static func endpoint(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let id = context.parameter("id")
        var query = context.query
        let status = query.oneOf("status", WebhookOutboxStore.statuses), cursor = query.cursor(parts: 1)
        let notice = Console.notice(&query, notices)
        try query.finish()
        let db = context.database
        let endpoint = try WebhookEndpointStore(db: db).get(id)
        let page = try WebhookOutboxStore(db: db).messages(endpointId: id, status: status, after: cursor, limit: 30)
        let attempts = try WebhookDeliveryAttemptStore(db: db).attempts(outboxIds: page.items.map(\.id))
        let canAct = viewer.person.role >= .operator
        let messages: [[String: Any]] = page.items.map { item in
            var row = message(item)
            row["canResend"] = canAct && item.status == "dead"
            row["csrf"] = viewer.csrf
            row["hasAttempts"] = !(attempts[item.id] ?? []).isEmpty
            row["attemptList"] = (attempts[item.id] ?? []).map { attempt -> [String: Any] in
                ["attempt": attempt.attempt, "at": Console.shortTime(attempt.attemptedAt),
                 "outcome": attempt.statusCode.map { "HTTP \($0)" } ?? (attempt.error ?? "no answer"), "ms": attempt.durationMs]
            }
            return row
        }
        var data = delivery(endpoint)
        data.merge([
            "disabled": endpoint.disabled, "failing": endpoint.failingSince != nil, "canAct": canAct, "csrf": viewer.csrf,
            "messages": messages, "statuses": WebhookOutboxStore.statuses.map { ["value": $0, "selected": $0 == status] },
            "next": Console.nextPage("/console/webhooks/\(id)", filters: [("status", status)], cursor: page.nextCursor) as Any,
        ]) { _, new in new }
        return Console.page("webhook", title: "Webhook endpoint", viewer: viewer, data: data, active: "webhooks", notice: notice)
    }

    static let notices = ["enable": "Enabled: new events are delivered again.", "disable": "Disabled: no new messages are queued.",
                          "resend": "Queued again with the same webhook-id."]

    /// `POST /console/webhooks/{id}/enable|disable` (operator role).
    @Sendable static func setEnabled(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let id = context.parameter("id"), verb = context.parameter("verb")
        guard verb == "enable" || verb == "disable" else { throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such action.") }
        _ = try context.audited(actor: viewer.actor, action: "webhook_endpoint.\(verb)", reason: Console.reason(form)) { db in
            let row = try WebhookEndpointStore(db: db).setEnabled(id, verb == "enable")
            return (row, target: "webhook_endpoint:\(id)", summary: row.url)
        }
        return Console.redirect("/console/webhooks/\(id)?done=\(verb)")
    }

    /// `POST /console/webhooks/{id}/messages/{message}/resend` (operator role): a dead message is queued again.
    @Sendable static func resend(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let endpoint = context.parameter("id")
        guard let message = Int64(context.parameter("message")) else {
            throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such message.")
        }
        try context.audited(actor: viewer.actor, action: "webhook_message.resend", reason: Console.reason(form)) { db in
            guard let found = try WebhookOutboxStore(db: db).message(message), found.endpointId == endpoint else {
                throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such message at this endpoint.")
            }
            guard try WebhookOutboxStore(db: db).requeueDead(message) else {
                throw Console.ConsoleRefusal(status: 409, title: "Not done", text: "Only a dead message can be resent; this one is \(found.status).")
            }
            return ((), target: "webhook_message:\(found.messageId)", summary: "\(found.eventType) to endpoint \(endpoint)")
        }
        return Console.redirect("/console/webhooks/\(endpoint)?done=resend")
    }
}
