import ControlPlaneCore
import FastCGI

/// The console's trial pages beyond the review queue: one draft with its step history, the
/// signup attempt log, and the domain dictionary (search, add, remove, import a list).
enum ConsoleTrialPages {
    typealias Console = ConsoleHandlers

    @Sendable static func draft(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let id = context.parameter("draftId")
        let db = context.database
        guard let draft = try TrialDraftStore(db: db).review(id) else {
            throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such draft.")
        }
        let steps = try SignupAttemptStore(db: db).list(.init(draftId: id), after: nil, limit: 200).items.reversed().map(attempt)
        let facts: [(String, String?)] = [
            ("Status", draft.status), ("Email", draft.email), ("Work email", draft.workEmail), ("Company", draft.companyName),
            ("Contact", draft.contactName), ("Country", draft.country), ("Size", draft.companySize), ("Use case", draft.useCase),
            ("Started", Console.shortTime(draft.createdAt)), ("Submitted", Console.shortTime(draft.submittedAt)),
        ]
        return Console.page("draft", title: "Trial draft", viewer: viewer, data: [
            "id": id, "facts": facts.map { ["name": $0.0, "value": $0.1 ?? ""] }, "attempts": steps, "tenantId": draft.tenantId as Any,
            "entries": try AuditLogStore(db: db).list(.init(target: "trial_draft:\(id)"), after: nil, limit: 20).items.map(Console.auditEntry),
        ], active: "trials")
    }

    static func attempt(_ row: SignupAttemptStore.Row) -> [String: Any] {
        var entry: [String: Any] = ["occurredAt": Console.shortTime(row.occurredAt), "step": row.step, "domain": row.emailDomain ?? "",
                                    "outcome": row.outcome, "traceId": row.traceId]
        if let draft = row.draftId { entry["draftId"] = draft }  // an empty string would still open its section
        return entry
    }

    @Sendable static func attempts(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let filter = SignupAttemptStore.Filter(step: query.string("step"), outcome: query.string("outcome"),
                                               domain: query.string("domain", maxBytes: 253)?.lowercased(), since: query.timestamp("since"))
        let cursor = query.cursor(parts: 1)
        try query.finish()
        let page = try SignupAttemptStore(db: context.database).list(filter, after: cursor, limit: 100)
        let filters: [(String, String?)] = [("step", filter.step), ("outcome", filter.outcome), ("domain", filter.domain), ("since", filter.since)]
        return Console.page("attempts", title: "Signup attempts", viewer: viewer, data: [
            "attempts": page.items.map(attempt), "step": filter.step ?? "", "outcome": filter.outcome ?? "", "domain": filter.domain ?? "",
            "since": filter.since ?? "", "next": Console.nextPage("/console/signup-attempts", filters: filters, cursor: page.nextCursor) as Any,
        ], active: "trials")
    }

    static let kinds = DomainKind.allCases.map(\.rawValue)

    @Sendable static func domains(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let text = query.string("q", maxBytes: 253), kind = query.oneOf("kind", kinds), cursor = query.cursor(parts: 1)
        let notice = query.string("done").flatMap { notices[$0] }
        try query.finish()
        let page = try EmailDomainStore(db: context.database).list(kind: kind, containing: text, after: cursor, limit: 100)
        let canAct = viewer.person.role >= .operator
        return Console.page("domains", title: "Domain dictionary", viewer: viewer, data: [
            "domains": page.items.map { ["domain": $0.domain, "kind": $0.kind, "source": $0.source ?? "", "addedBy": $0.addedBy ?? "",
                                         "addedAt": Console.shortTime($0.addedAt), "canAct": canAct, "csrf": viewer.csrf] },
            "q": text ?? "", "kinds": kinds.map { ["value": $0, "selected": $0 == kind] }, "canAct": canAct, "csrf": viewer.csrf,
            "next": Console.nextPage("/console/domains", filters: [("q", text), ("kind", kind)], cursor: page.nextCursor) as Any,
        ], active: "trials", notice: notice)
    }

    static let notices = ["add": "Saved: every backend classifies with it within a second.", "remove": "Removed.",
                          "import": "Imported."]

    static func kind(_ form: [String: String]) throws -> String {
        guard let kind = form["kind"], kinds.contains(kind) else {
            throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "The kind must be \(kinds.joined(separator: ", ")).")
        }
        return kind
    }

    /// `POST /console/domains` (operator role): one domain, as typed (Unicode or A-label).
    @Sendable static func addDomain(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let kind = try kind(form)
        guard case .success(let domain) = EmailAddress.normalizeDomain(Array((form["domain"] ?? "").trimmingCharacters(in: .whitespaces).utf8)) else {
            throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "That is not a domain name.")
        }
        try context.audited(actor: viewer.actor, action: "domain.set", reason: Console.reason(form)) { db in
            ((), target: "domain:\(domain)", summary: "\(kind) (\(try EmailDomainStore(db: db).upsert([domain], kind: kind, source: "console", actor: viewer.actor)) changed)")
        }
        return Console.redirect("/console/domains?q=\(URLEncoding.component(domain))&done=add")
    }

    /// `POST /console/domains/{domain}/remove` (operator role).
    @Sendable static func removeDomain(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let domain = context.parameter("domain").lowercased()
        try context.audited(actor: viewer.actor, action: "domain.delete", reason: Console.reason(form)) { db in
            (try EmailDomainStore(db: db).delete(domain), target: "domain:\(domain)", summary: nil)
        }
        return Console.redirect("/console/domains?done=remove")
    }

    /// `POST /console/domains/import` (operator role): a list file's lines (pasted), one domain a
    /// line, `#` comments; invalid lines are named on the answer and nothing of them is stored.
    @Sendable static func importDomains(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let kind = try kind(form)
        let lines = (form["domains"] ?? "").split(whereSeparator: \.isNewline).map(String.init)
        guard lines.count <= 100_000 else { throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "At most 100,000 lines at once.") }
        let (valid, invalid) = EmailDomainStore.normalize(lines)
        guard !valid.isEmpty else { throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "The list holds no valid domain.") }
        let changed = try context.audited(actor: viewer.actor, action: "domain.import", reason: Console.reason(form)) { db in
            (try EmailDomainStore(db: db).upsert(valid, kind: kind, source: "console-import", actor: viewer.actor),
             target: "domains:\(kind)", summary: "\(valid.count) from console-import")
        }
        let skipped = invalid.prefix(10).map { String($0.prefix(100)) }.joined(separator: ", ")
        return Console.page("message", title: "Imported", viewer: viewer, data: [
            "text": "\(valid.count) domains read, \(changed) added or changed as \(kind); \(invalid.count) lines skipped" +
                (invalid.isEmpty ? "." : " (\(skipped)\(invalid.count > 10 ? ", …" : "")).")], active: "trials")
    }
}
