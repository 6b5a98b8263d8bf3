import ControlPlaneCore
import FastCGI
import Foundation

/// The console's webhook pages: endpoints, each endpoint's messages with every attempt, and
/// the operator's actions next to them (the same operations as the API and cpctl: create,
/// change, enable or disable, test, recover, rotate the secret, delete; resend a dead message).
enum ConsoleWebhookPages {
    typealias Console = ConsoleHandlers

    @Sendable static func endpoints(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let cursor = query.cursor(parts: 2)
        let notice = Console.notice(&query, notices)
        try query.finish()
        let page = try WebhookEndpointStore(db: context.database).list(after: cursor, limit: 50)
        let endpoints: [[String: Any]] = page.items.map(delivery)
        return Console.page("webhooks", title: "Webhook endpoints", viewer: viewer, data: [
            "endpoints": endpoints, "next": Console.nextPage("/console/webhooks", filters: [], cursor: page.nextCursor) as Any,
            "canCreate": viewer.person.role >= .admin, "csrf": viewer.csrf, "eventChoices": eventChoices(selected: []),
        ], active: "webhooks", notice: notice)
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
        var query = context.query
        let status = query.oneOf("status", WebhookOutboxStore.statuses), cursor = query.cursor(parts: 1)
        let notice = Console.notice(&query, notices)
        try query.finish()
        return try endpointPage(context, viewer: viewer, id: context.parameter("id"), status: status, cursor: cursor, notice: notice)
    }

    /// An endpoint's page: its settings and state, the operator's actions, its messages with
    /// every attempt; `secret` is a signing secret just made, shown this once.
    static func endpointPage(_ context: RequestContext, viewer: Console.Viewer, id: String, status: String? = nil, cursor: PageCursor? = nil,
                             notice: String? = nil, secret: String? = nil) throws -> Response {
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
            "isAdmin": viewer.person.role >= .admin, "description": endpoint.description ?? "",
            "eventChoices": eventChoices(selected: Set(endpoint.events)), "recoverSince": RFC3339.format(Date(timeIntervalSinceNow: -86_400)),
            "newSecret": secret as Any,
            "messages": messages, "statuses": WebhookOutboxStore.statuses.map { ["value": $0, "selected": $0 == status] },
            "next": Console.nextPage("/console/webhooks/\(id)", filters: [("status", status)], cursor: page.nextCursor) as Any,
        ]) { _, new in new }
        return Console.page("webhook", title: "Webhook endpoint", viewer: viewer, data: data, active: "webhooks", notice: notice)
    }

    /// Checkboxes for every event type an endpoint can subscribe to.
    static func eventChoices(selected: Set<String>) -> [[String: Any]] {
        WebhookEndpointService.subscribable.map { ["value": $0, "label": $0 == "*" ? "* (every tenant event)" : $0, "checked": selected.contains($0)] }
    }

    /// The endpoint operations as the signed-in operator, audited with this request's trace id.
    static func service(_ context: RequestContext, _ viewer: Console.Viewer) -> WebhookEndpointService {
        WebhookEndpointHandlers.service(context, actor: viewer.actor)
    }

    /// The event types a form checked (`event.<type>` fields).
    static func checkedEvents(_ form: [String: String]) -> [String] {
        WebhookEndpointService.subscribable.filter { form["event.\($0)"] == "on" }
    }

    /// `POST /console/webhooks` (admin): a new endpoint; its page shows the signing secret once.
    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .admin)
        let description = (form["description"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let (endpoint, secret) = try service(context, viewer).create(url: (form["url"] ?? "").trimmingCharacters(in: .whitespaces),
                                                                     events: checkedEvents(form), description: description.isEmpty ? nil : description)
        return try endpointPage(context, viewer: viewer, id: endpoint.id, notice: "Endpoint created.", secret: secret)
    }

    /// `POST /console/webhooks/{id}/settings` (operator): url, events and description.
    @Sendable static func updateSettings(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let id = context.parameter("id")
        _ = try service(context, viewer).update(id, .init(url: (form["url"] ?? "").trimmingCharacters(in: .whitespaces), events: checkedEvents(form),
                                                          description: (form["description"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)))
        return Console.redirect("/console/webhooks/\(id)?done=settings")
    }

    /// `POST /console/webhooks/{id}/test` (operator): a `webhook.test` event now.
    @Sendable static func sendTest(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        _ = try Console.change(context, viewer: viewer, needs: .operator)
        let id = context.parameter("id")
        _ = try service(context, viewer).sendTest(id)
        return Console.redirect("/console/webhooks/\(id)?done=test")
    }

    /// `POST /console/webhooks/{id}/recover` (operator): dead messages since a time, queued again oldest first.
    @Sendable static func recover(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let id = context.parameter("id")
        _ = try service(context, viewer).recover(id, since: (form["since"] ?? "").trimmingCharacters(in: .whitespaces))
        return Console.redirect("/console/webhooks/\(id)?done=recover")
    }

    /// `POST /console/webhooks/{id}/rotate-secret` (admin, confirmed): the new secret is shown once.
    @Sendable static func rotateSecret(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .admin)
        let id = context.parameter("id")
        let endpoint = try WebhookEndpointStore(db: context.database).get(id)
        guard form["confirm"] == "yes" else {
            return Console.confirmation(form, action: "/console/webhooks/\(id)/rotate-secret", back: "/console/webhooks/\(id)",
                                        title: "Rotate the signing secret of \(endpoint.url)?",
                                        text: "A new secret is shown once. Both secrets sign every delivery for the overlap (24 hours by default); after it, only the new one does: the receiver must switch before then.",
                                        viewer: viewer)
        }
        let secret = try service(context, viewer).rotateSecret(id)
        return try endpointPage(context, viewer: viewer, id: id, notice: "Secret rotated.", secret: secret)
    }

    /// `POST /console/webhooks/{id}/delete` (admin, with a reason, confirmed).
    @Sendable static func delete(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .admin)
        let id = context.parameter("id")
        let reason = try Console.requiredReason(form, for: "Deleting an endpoint")
        let endpoint = try WebhookEndpointStore(db: context.database).get(id)
        guard form["confirm"] == "yes" else {
            return Console.confirmation(form, action: "/console/webhooks/\(id)/delete", back: "/console/webhooks/\(id)",
                                        title: "Delete the endpoint \(endpoint.url)?",
                                        text: "It gets no more messages; its delivery log is kept.", viewer: viewer)
        }
        try service(context, viewer).delete(id, reason: reason)
        return Console.redirect("/console/webhooks?done=delete")
    }

    static let notices = ["enable": "Enabled: new events are delivered again.", "disable": "Disabled: no new messages are queued.",
                          "resend": "Queued again with the same webhook-id.", "settings": "Settings saved.",
                          "test": "A webhook.test event is queued: it goes out with the next delivery run.",
                          "recover": "Dead messages since then are queued again, oldest first.", "delete": "Endpoint deleted."]

    /// `POST /console/webhooks/{id}/enable|disable` (operator role).
    @Sendable static func setEnabled(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let id = context.parameter("id"), verb = context.parameter("verb")
        guard verb == "enable" || verb == "disable" else { throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such action.") }
        _ = try service(context, viewer).update(id, .init(enabled: verb == "enable"), reason: Console.reason(form))
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
