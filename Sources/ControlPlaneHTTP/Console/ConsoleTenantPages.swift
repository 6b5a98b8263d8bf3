import ControlPlaneCore
import FastCGI

/// The console's tenant pages: search, one tenant with its event timeline, connector slot
/// (the reference only) and webhook deliveries, and the lifecycle actions operators take.
enum ConsoleTenantPages {
    typealias Console = ConsoleHandlers

    static let statuses = TenantStatus.allCases.map(\.rawValue)

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let text = query.string("q"), status = query.oneOf("status", statuses), cursor = query.cursor(parts: 1)
        try query.finish()
        let page = try TenantStore(db: context.database).search(text, status: status, after: cursor, limit: 50)
        let tenants: [[String: Any]] = page.items.map {
            ["id": $0.id, "slug": $0.slug, "displayName": $0.displayName, "status": $0.status, "plan": $0.plan,
             "connectorKind": $0.connectorKind ?? "", "updatedAt": Console.shortTime($0.updatedAt)]
        }
        let filters: [(String, String?)] = [("q", text), ("status", status)]
        return Console.page("tenants", title: "Tenants", viewer: viewer, data: [
            "tenants": tenants, "q": text ?? "",
            "statuses": statuses.map { ["value": $0, "selected": $0 == status] },
            "next": Console.nextPage("/console/tenants", filters: filters, cursor: page.nextCursor) as Any,
        ], active: "tenants")
    }

    /// The actions the console offers, in the order shown; the lifecycle decides which apply.
    static let actions: [(action: TenantAction, path: String, label: String, reasonRequired: Bool)] = [
        (.requestProvisioning, "provision", "Retry provisioning", false), (.suspend, "suspend", "Suspend", true),
        (.resume, "resume", "Resume", false), (.deprovision, "deprovision", "Deprovision", true),
    ]

    @Sendable static func detail(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let id = context.parameter("id")
        let db = context.database
        let rows = try TenantStore(db: db).get(id)
        // Columns in TenantStore.columns order.
        func text(_ column: Int) throws -> String { try rows.decodeIfPresent(0, column, as: String.self) ?? "" }
        let status = try text(3)
        let events = try TenantEventStore(db: db).list(tenantId: id, after: nil, limit: 200).items.reversed().map { event -> [String: Any] in
            ["occurredAt": Console.shortTime(event.occurredAt), "from": event.fromStatus ?? "—", "to": event.toStatus,
             "actor": event.actor, "reason": event.reason ?? ""]
        }
        let messages = try WebhookOutboxStore(db: db).messages(tenantId: id, after: nil, limit: 20).items.map(ConsoleWebhookPages.message)
        let canAct = viewer.person.role >= .operator
        let offered: [[String: Any]] = actions.compactMap { entry in
            guard let from = TenantStatus(rawValue: status), entry.action.next(from: from) != nil else { return nil }
            return ["path": entry.path, "label": entry.label, "reasonRequired": entry.reasonRequired]
        }
        return Console.page("tenant", title: try text(2), viewer: viewer, data: [
            "id": id, "slug": try text(1), "status": status, "siteHostname": try text(4), "plan": try text(5),
            "connectorKind": try rows.decodeIfPresent(0, 6, as: String.self) as Any,
            "credentialRef": try rows.decodeIfPresent(0, 7, as: String.self) as Any, "createdAt": Console.shortTime(try text(8)),
            "updatedAt": Console.shortTime(try text(9)), "events": events, "messages": messages,
            "actions": canAct ? offered : [], "csrf": viewer.csrf, "canAct": canAct,
        ], active: "tenants", notice: context.request.queryValue("done").flatMap { notices[$0] })
    }

    static let notices = ["provision": "Provisioning requested.", "suspend": "Suspended.", "resume": "Resumed.",
                          "deprovision": "Deprovisioning requested."]

    /// `POST /console/tenants/{id}/{action}` (operator role). Deprovisioning is confirmed on a second step.
    @Sendable static func act(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let id = context.parameter("id")
        guard let entry = actions.first(where: { $0.path == context.parameter("action") }) else {
            throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such action.")
        }
        let reason = entry.reasonRequired ? try Console.requiredReason(form, for: entry.label) : Console.reason(form)
        if entry.action == .deprovision && form["confirm"] != "yes" {
            try TenantStore(db: context.database).requireExists(id)
            return Console.confirmation(form, action: "/console/tenants/\(id)/deprovision", back: "/console/tenants/\(id)",
                                        title: "Deprovision this tenant?",
                                        text: "Its site will be deleted by the provisioner. This cannot be undone.", viewer: viewer)
        }
        // TenantService audits the action in its own transaction (actor operator:<name>).
        _ = try TenantService(db: context.database, actor: viewer.actor, traceId: context.traceId)
            .perform(entry.action, on: id, reason: reason)
        return Console.redirect("/console/tenants/\(id)?done=\(entry.path)")
    }
}
