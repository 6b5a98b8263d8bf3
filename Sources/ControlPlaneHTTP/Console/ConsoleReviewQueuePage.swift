import ControlPlaneCore
import FastCGI
import Foundation

/// The trial review queue and the reviewer's decision on a draft.
enum ConsoleReviewQueuePage {
    typealias Console = ConsoleHandlers

    /// Drafts oldest first: the submitted ones by default (the queue), or those in another status.
    @Sendable static func trials(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let status = query.oneOf("status", TrialReview.statuses) ?? "submitted", cursor = query.cursor(parts: 2)
        let notice = Console.notice(&query, notices)
        try query.finish()
        let page = try TrialDraftStore(db: context.database).reviewList(status: status, after: cursor, limit: 50)
        let rows = page.items
        let canDecide = viewer.person.role >= .reviewer && status == "submitted"
        let drafts: [[String: Any]] = rows.map { draft in
            var row: [String: Any] = ["id": draft.id, "canDecide": canDecide, "csrf": viewer.csrf]
            let texts: [(String, String?)] = [
                ("companyName", draft.companyName), ("contactName", draft.contactName), ("workEmail", draft.workEmail),
                ("country", draft.country), ("companySize", draft.companySize), ("useCase", draft.useCase),
            ]
            for (key, value) in texts { row[key] = value ?? "" }
            row["submittedAt"] = Console.shortTime(draft.submittedAt)
            return row
        }
        return Console.page("trials", title: status == "submitted" ? "Trials to review" : "Trials \(status)", viewer: viewer, data: [
            "drafts": drafts, "queue": status == "submitted", "statuses": TrialReview.statuses.map { ["value": $0, "selected": $0 == status] },
            "next": Console.nextPage("/console/trials", filters: [("status", status)], cursor: page.nextCursor) as Any,
        ], active: "trials", notice: notice)
    }

    @Sendable static func decideTrial(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .reviewer)
        let draft = context.parameter("draftId"), decision = context.parameter("decision")
        let reason = Console.reason(form)
        let review = TrialReview(db: context.database, actor: viewer.actor, traceId: context.traceId)  // audits the decision
        switch decision {
        case "approve": _ = try review.approve(draftId: draft, reason: reason)
        case "reject":
            guard let reason else { throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "A rejection needs a reason.") }
            _ = try review.reject(draftId: draft, reason: reason)
        default: throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such action.")
        }
        // The notice is named, not carried: a link cannot make the console say something else.
        return Console.redirect("/console/trials?done=\(decision)")
    }

    static let notices = ["approve": "Approved: the tenant is being provisioned.", "reject": "Rejected."]
}
