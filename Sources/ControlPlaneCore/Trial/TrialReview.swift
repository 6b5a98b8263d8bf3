import Foundation
import OpenSSLCrypto
import Postgres

/// Operator review of submitted drafts, shared by the internal API and cpctl. Approval
/// creates the tenant and requests its provisioning in the same transaction; every
/// decision is a row of the append-only `trial_decisions`.
public struct TrialReview {
    public let db: PostgresConnection
    public let actor: String
    public let traceId: String?
    public init(db: PostgresConnection, actor: String, traceId: String? = nil) { self.db = db; self.actor = actor; self.traceId = traceId }

    public enum Failure: Error, ProblemConvertible {
        case notFound, notSubmitted(String)
        public var problem: Problem {
            switch self {
            case .notFound: .notFound("No such draft.")
            case .notSubmitted(let status):
                .conflict("Only a submitted draft can be decided; this one is \(status).", type: .draftNotSubmitted)
            }
        }
    }

    public static let statuses = ["draft", "email_verified", "submitted", "approved", "rejected"]

    public func list(status: String?, after cursor: PageCursor?, limit: Int) throws -> Page<[TrialDraftStore.ReviewRow]> {
        try TrialDraftStore(db: db).reviewList(status: status, after: cursor, limit: limit)
    }

    public static func write(_ draft: TrialDraftStore.ReviewRow, to json: inout JSONWriter) {
        json.beginObject()
        json.key("draftId"); json.string(draft.id)
        json.key("status"); json.string(draft.status)
        json.key("email"); json.string(draft.email)
        json.key("workEmail"); json.string(draft.workEmail)
        json.key("companyName"); json.string(draft.companyName)
        json.key("contactName"); json.string(draft.contactName)
        json.key("country"); json.string(draft.country)
        json.key("companySize"); json.string(draft.companySize)
        json.key("useCase"); json.string(draft.useCase)
        json.key("submittedAt"); json.timestamp(draft.submittedAt)
        json.key("tenantId"); json.string(draft.tenantId)
        json.key("createdAt"); json.timestamp(draft.createdAt)
        json.endObject()
    }

    /// Approves a submitted draft: creates the tenant (provisioning requested) and records the decision.
    public func approve(draftId: String, reason: String?) throws -> [UInt8] {
        guard TenantValidation.isUUID(draftId) else { throw Failure.notFound }
        return try db.transaction { db in
            let drafts = TrialDraftStore(db: db)
            guard let draft = try drafts.lockForDecision(draftId) else { throw Failure.notFound }
            guard draft.status == "submitted", let company = draft.companyName, let email = draft.workEmail else {
                throw Failure.notSubmitted(draft.status)
            }
            let tenant = try TenantService(db: db, actor: actor, traceId: traceId, audited: false).create(
                .init(slug: Self.slug(for: company), displayName: String(company.prefix(200)), contactEmail: email, plan: "trial"),
                reason: reason ?? "trial approved")
            let tenantId = try JSONScanner.withDocument(tenant) { scanner, root in
                try scanner.members(of: root).first { $0.name == "id" }.flatMap { try scanner.string(at: $0.value) } ?? ""
            }
            try drafts.markApproved(draftId, tenantId: tenantId)
            try TrialDecisionStore(db: db).record(draftId: draftId, decision: "approved", actor: actor, reason: reason, tenantId: tenantId)
            try AuditLogStore(db: db).record(.init(actor: actor, traceId: traceId, action: "trial.approve", target: "trial_draft:\(draftId)",
                                                   reason: reason, summary: "tenant \(tenantId)"))
            var json = JSONWriter()
            json.beginObject()
            json.key("draftId"); json.string(draftId)
            json.key("status"); json.string("approved")
            json.key("tenantId"); json.string(tenantId)
            json.key("tenant"); json.raw(tenant)
            json.endObject()
            return json.bytes
        }
    }

    public func reject(draftId: String, reason: String) throws -> [UInt8] {
        guard TenantValidation.isUUID(draftId) else { throw Failure.notFound }
        return try db.transaction { db in
            let drafts = TrialDraftStore(db: db)
            guard let draft = try drafts.lockForDecision(draftId) else { throw Failure.notFound }
            guard draft.status == "submitted" else { throw Failure.notSubmitted(draft.status) }
            try drafts.markRejected(draftId)
            try TrialDecisionStore(db: db).record(draftId: draftId, decision: "rejected", actor: actor, reason: reason)
            try AuditLogStore(db: db).record(.init(actor: actor, traceId: traceId, action: "trial.reject", target: "trial_draft:\(draftId)",
                                                   reason: reason))
            var json = JSONWriter()
            json.beginObject()
            json.key("draftId"); json.string(draftId)
            json.key("status"); json.string("rejected")
            json.endObject()
            return json.bytes
        }
    }

    /// `Acme Corp.` → `acme-corp-3f9a1c`: readable, and unique enough to never collide in practice.
    static func slug(for company: String) -> String {
        var out = ""
        var dash = false
        for scalar in company.lowercased().unicodeScalars {
            if scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar)) {
                out.unicodeScalars.append(scalar)
                dash = false
            } else if !dash && !out.isEmpty {
                out.append("-")
                dash = true
            }
            if out.count >= 40 { break }
        }
        while out.hasSuffix("-") { out.removeLast() }
        if out.isEmpty { out = "tenant" }
        return out + "-" + Hex.encode(SecureRandom.bytes(3))
    }
}
