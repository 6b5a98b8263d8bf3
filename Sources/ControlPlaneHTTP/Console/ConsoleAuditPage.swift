import ControlPlaneCore
import FastCGI

/// The audit log page: every change from every surface, searchable.
enum ConsoleAuditPage {
    typealias Console = ConsoleHandlers

    /// The audit log, newest first, searchable by actor, action, target and time.
    @Sendable static func show(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let filter = AuditLogStore.Filter(actor: query.string("actor"), action: query.string("action"),
                                          target: query.string("target", maxBytes: 300), since: query.timestamp("since"))
        let cursor = query.cursor(parts: 1)
        try query.finish()
        let page = try AuditLogStore(db: context.database).list(filter, after: cursor, limit: 100)
        let filters: [(String, String?)] = [("actor", filter.actor), ("action", filter.action), ("target", filter.target), ("since", filter.since)]
        return Console.page("audit", title: "Audit log", viewer: viewer, data: [
            "entries": page.items.map(Console.auditEntry), "actor": filter.actor ?? "", "action": filter.action ?? "",
            "target": filter.target ?? "", "since": filter.since ?? "",
            "next": Console.nextPage("/console/audit", filters: filters, cursor: page.nextCursor) as Any,
        ], active: "audit")
    }
}
