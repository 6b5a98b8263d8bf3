import ControlPlaneCore
import FastCGI

/// Internal operator routes of the trial funnel: review, attempt logs, the domain dictionary.
enum TrialAdminHandlers {
    /// `GET /internal/trial/manual-approvals?status=&limit=&cursor=` (status defaults to submitted).
    @Sendable static func listApprovals(_ context: RequestContext) throws -> Response {
        try context.requireScope(.trialReview)
        var query = context.query
        let limit = query.limit(default: 100, max: 500), cursor = query.cursor(parts: 2)
        let status = query.oneOf("status", TrialReview.statuses + ["all"]) ?? "submitted"
        try query.finish()
        let page = try TrialReview(db: context.database, actor: "").list(status: status == "all" ? nil : status, after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, draft in TrialReview.write(draft, to: &json) })
    }

    struct DecisionBody: Decodable { var reason: String? }

    @Sendable static func approve(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.trialReview)
        let reason = context.request.body.isEmpty ? nil : try context.decodeStrictJSON(DecisionBody.self, allowedKeys: ["reason"]).reason
        return .jsonBytes(try TrialReview(db: context.database, actor: principal.actor, traceId: context.traceId)
            .approve(draftId: context.parameter("draftId"), reason: reason))
    }

    @Sendable static func reject(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.trialReview)
        let body = try context.decodeStrictJSON(DecisionBody.self, allowedKeys: ["reason"])
        guard let reason = body.reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.count <= 500 else {
            throw Problem.validation("reason", "is required (at most 500 characters)")
        }
        return .jsonBytes(try TrialReview(db: context.database, actor: principal.actor, traceId: context.traceId)
            .reject(draftId: context.parameter("draftId"), reason: reason))
    }

    /// `GET /internal/trial/signup-attempts?step=&outcome=&domain=&since=&limit=&cursor=`, newest first.
    @Sendable static func attempts(_ context: RequestContext) throws -> Response {
        try context.requireScope(.trialRead)
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 1)
        let filter = SignupAttemptStore.Filter(step: query.string("step"), outcome: query.string("outcome"),
                                               domain: query.string("domain", maxBytes: 253)?.lowercased(),
                                               since: query.timestamp("since"))
        try query.finish()
        let page = try SignupAttemptStore(db: context.database).list(filter, after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, attempt in
            json.beginObject()
            json.key("occurredAt"); json.timestamp(attempt.occurredAt)
            json.key("traceId"); json.string(attempt.traceId)
            json.key("step"); json.string(attempt.step)
            json.key("emailDomain"); json.string(attempt.emailDomain)
            json.key("outcome"); json.string(attempt.outcome)
            json.key("draftId"); json.string(attempt.draftId)
            json.endObject()
        })
    }

    // MARK: domain dictionary

    struct DomainBody: Decodable { var domain: String; var kind: String }
    struct ImportBody: Decodable { var kind: String; var domains: [String]; var source: String? }

    @Sendable static func listDomains(_ context: RequestContext) throws -> Response {
        try context.requireScope(.domainsManage)
        var query = context.query
        let limit = query.limit(default: 500, max: 5000), cursor = query.cursor(parts: 1)
        let kind = query.oneOf("kind", DomainKind.self)?.rawValue
        try query.finish()
        let page = try EmailDomainStore(db: context.database).list(kind: kind, after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, domain in
            json.beginObject()
            json.key("domain"); json.string(domain.domain)
            json.key("kind"); json.string(domain.kind)
            json.key("source"); json.string(domain.source)
            json.key("addedAt"); json.timestamp(domain.addedAt)
            json.key("addedBy"); json.string(domain.addedBy)
            json.endObject()
        })
    }

    @Sendable static func addDomain(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.domainsManage)
        let body = try context.decodeStrictJSON(DomainBody.self, allowedKeys: ["domain", "kind"])
        guard DomainKind(rawValue: body.kind) != nil else {
            throw Problem.validation("kind", "must be free, disposable, blocked or allowed")
        }
        guard case .success(let domain) = EmailAddress.normalizeDomain(Array(body.domain.utf8)) else {
            throw Problem.validation("domain", "must be a domain name")
        }
        let stored = try context.audited(actor: principal.actor, action: "domain.set") { db in
            (try EmailDomainStore(db: db).upsert([domain], kind: body.kind, source: "api", actor: principal.actor),
             target: "domain:\(domain)", summary: body.kind)
        }
        var json = JSONWriter()
        json.beginObject()
        json.key("domain"); json.string(domain)
        json.key("kind"); json.string(body.kind)
        json.key("created"); json.bool(stored > 0)
        json.endObject()
        return .jsonBytes(json.bytes, status: 201)
    }

    @Sendable static func deleteDomain(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.domainsManage)
        let domain = context.parameter("domain").lowercased()
        try context.audited(actor: principal.actor, action: "domain.delete") { db in
            (try EmailDomainStore(db: db).delete(domain), target: "domain:\(domain)", summary: nil)
        }
        return Response(status: 204)
    }

    @Sendable static func importDomains(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.domainsManage)
        let body = try context.decodeStrictJSON(ImportBody.self, allowedKeys: ["kind", "domains", "source"])
        guard DomainKind(rawValue: body.kind) != nil else {
            throw Problem.validation("kind", "must be free, disposable, blocked or allowed")
        }
        guard body.domains.count <= 100_000 else { throw Problem.validation("domains", "at most 100000 per request") }
        let (valid, invalid) = EmailDomainStore.normalize(body.domains)
        let source = String((body.source ?? "api-import").prefix(100))
        let changed = try context.audited(actor: principal.actor, action: "domain.import") { db in
            (try EmailDomainStore(db: db).upsert(valid, kind: body.kind, source: source, actor: principal.actor),
             target: "domains:\(body.kind)", summary: "\(valid.count) from \(source)")
        }
        var json = JSONWriter()
        json.beginObject()
        json.key("received"); json.int(body.domains.count)
        json.key("imported"); json.int(changed)
        json.key("invalid"); json.int(invalid.count)
        json.key("invalidExamples"); json.beginArray(); invalid.prefix(10).forEach { json.string(String($0.prefix(100))) }; json.endArray()
        json.endObject()
        return .jsonBytes(json.bytes)
    }
}
