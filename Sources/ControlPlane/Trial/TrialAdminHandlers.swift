import Crypto
import FastCGI
import Postgres

/// Internal operator routes of the trial funnel: review, attempt logs, the domain dictionary.
enum TrialAdminHandlers {
    static func mapReview(_ body: () throws -> Response) throws -> Response {
        do { return try body() } catch let failure as TrialReview.Failure {
            switch failure {
            case .notFound: throw HTTPError.notFound("No such draft.")
            case .notSubmitted(let status): throw HTTPError.conflict("Only a submitted draft can be decided; this one is \(status).", slug: "draft-not-submitted")
            }
        }
    }

    @Sendable static func listApprovals(_ context: RequestContext) throws -> Response {
        try context.requireScope(.trialReview)
        var status: String? = "submitted"
        for (name, value) in context.request.queryItems {
            guard name == "status", ["draft", "email_verified", "submitted", "approved", "rejected", "all"].contains(value) else {
                throw HTTPError(400, slug: "invalid-parameter", detail: "status must be draft, email_verified, submitted, approved, rejected or all.",
                                invalidParams: [.init(name: String(name.prefix(64)), reason: "invalid")])
            }
            status = value == "all" ? nil : value
        }
        return .jsonBytes(try TrialReview(db: context.database, actor: "").list(status: status, limit: 500))
    }

    struct DecisionBody: Decodable { var reason: String? }

    @Sendable static func approve(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.trialReview)
        let reason = context.request.body.isEmpty ? nil : try context.decodeStrictJSON(DecisionBody.self, allowedKeys: ["reason"]).reason
        return try mapReview {
            .jsonBytes(try TrialReview(db: context.database, actor: principal.actor).approve(draftId: context.parameter("draftId"), reason: reason))
        }
    }

    @Sendable static func reject(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.trialReview)
        let body = try context.decodeStrictJSON(DecisionBody.self, allowedKeys: ["reason"])
        guard let reason = body.reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty, reason.count <= 500 else {
            throw HTTPError.validation([.init(name: "reason", reason: "is required (at most 500 characters)")])
        }
        return try mapReview {
            .jsonBytes(try TrialReview(db: context.database, actor: principal.actor).reject(draftId: context.parameter("draftId"), reason: reason))
        }
    }

    /// `GET /internal/trial/signup-attempts?step=&outcome=&domain=&since=&limit=&cursor=`, newest first.
    @Sendable static func attempts(_ context: RequestContext) throws -> Response {
        try context.requireScope(.trialRead)
        var step: String?, outcome: String?, domain: String?, since: String?, limit = 100, before = Int64.max
        var problems: [HTTPError.InvalidParam] = []
        for (name, value) in context.request.queryItems {
            switch name {
            case "step": step = value
            case "outcome": outcome = value
            case "domain": domain = value.lowercased()
            case "since":
                if RFC3339.isValid(value) { since = value } else { problems.append(.init(name: "since", reason: "must be an RFC 3339 date-time")) }
            case "limit":
                if let n = Int(value), (1...1000).contains(n) { limit = n } else { problems.append(.init(name: "limit", reason: "must be 1 to 1000")) }
            case "cursor":
                if let bytes = Base64.decode(value, url: true), let text = String(validating: bytes, as: UTF8.self), let id = Int64(text) {
                    before = id
                } else { problems.append(.init(name: "cursor", reason: "is not a cursor this API returned")) }
            default: problems.append(.init(name: String(name.prefix(64)), reason: "is not a known parameter"))
            }
        }
        if !problems.isEmpty { throw HTTPError(400, slug: "invalid-parameter", detail: "See invalidParams.", invalidParams: problems) }
        let rows = try context.database.query("""
            SELECT id, occurred_at, trace_id, step, email_domain, outcome, draft_id::text FROM signup_attempts
            WHERE id < \(before) AND (\(step)::text IS NULL OR step = \(step)) AND (\(outcome)::text IS NULL OR outcome = \(outcome))
              AND (\(domain)::text IS NULL OR email_domain = \(domain))
              AND (\(since)::timestamptz IS NULL OR occurred_at >= \(since)::timestamptz)
            ORDER BY id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true)
        let count = min(rows.count, limit)
        let next = rows.count > limit ? Base64.encode(Array(try rows.decode(count - 1, 0, as: String.self).utf8), url: true) : nil
        let body = JSONWriter.list(count: count, nextCursor: next) { json, row in
            json.beginObject()
            json.key("occurredAt"); rows.withBytes(row, 1) { Timestamp.write($0, to: &json) }
            json.key("traceId"); rows.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("step"); rows.withBytes(row, 3) { json.string(utf8: $0) }
            json.key("emailDomain"); rows.withBytes(row, 4) { json.string(utf8: $0) }
            json.key("outcome"); rows.withBytes(row, 5) { json.string(utf8: $0) }
            json.key("draftId"); rows.withBytes(row, 6) { json.string(utf8: $0) }
            json.endObject()
        }
        return .jsonBytes(body)
    }

    // MARK: domain dictionary

    struct DomainBody: Decodable { var domain: String; var kind: String }
    struct ImportBody: Decodable { var kind: String; var domains: [String]; var source: String? }

    @Sendable static func listDomains(_ context: RequestContext) throws -> Response {
        try context.requireScope(.domainsManage)
        var kind: String?, after = "", limit = 500
        for (name, value) in context.request.queryItems {
            switch name {
            case "kind" where DomainKind(rawValue: value) != nil: kind = value
            case "limit" where Int(value).map({ (1...5000).contains($0) }) == true: limit = Int(value)!
            case "cursor":
                guard let bytes = Base64.decode(value, url: true), let text = String(validating: bytes, as: UTF8.self) else { fallthrough }
                after = text
            default:
                throw HTTPError(400, slug: "invalid-parameter", detail: "Use kind (free, disposable, blocked, allowed), limit (1–5000) and cursor.",
                                invalidParams: [.init(name: String(name.prefix(64)), reason: "invalid")])
            }
        }
        let rows = try context.database.query("""
            SELECT domain, kind, source, added_at, added_by FROM email_domains
            WHERE domain > \(after) AND (\(kind)::text IS NULL OR kind = \(kind)) ORDER BY domain LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true)
        let count = min(rows.count, limit)
        let next = rows.count > limit ? Base64.encode(Array(try rows.decode(count - 1, 0, as: String.self).utf8), url: true) : nil
        let body = JSONWriter.list(count: count, nextCursor: next) { json, row in
            json.beginObject()
            json.key("domain"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("kind"); rows.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("source"); rows.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("addedAt"); rows.withBytes(row, 3) { Timestamp.write($0, to: &json) }
            json.key("addedBy"); rows.withBytes(row, 4) { json.string(utf8: $0) }
            json.endObject()
        }
        return .jsonBytes(body)
    }

    @Sendable static func addDomain(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.domainsManage)
        let body = try context.decodeStrictJSON(DomainBody.self, allowedKeys: ["domain", "kind"])
        guard DomainKind(rawValue: body.kind) != nil else {
            throw HTTPError.validation([.init(name: "kind", reason: "must be free, disposable, blocked or allowed")])
        }
        guard case .success(let domain) = EmailAddress.normalizeDomain(Array(body.domain.utf8)) else {
            throw HTTPError.validation([.init(name: "domain", reason: "must be a domain name")])
        }
        let stored = try DomainImport.upsert(context.database, domains: [domain], kind: body.kind, source: "api", actor: principal.actor)
        var json = JSONWriter()
        json.beginObject()
        json.key("domain"); json.string(domain)
        json.key("kind"); json.string(body.kind)
        json.key("created"); json.bool(stored > 0)
        json.endObject()
        return .jsonBytes(json.bytes, status: 201)
    }

    @Sendable static func deleteDomain(_ context: RequestContext) throws -> Response {
        try context.requireScope(.domainsManage)
        let domain = context.parameter("domain").lowercased()
        let rows = try context.database.query("DELETE FROM email_domains WHERE domain = \(domain)")
        guard rows.affectedRows == 1 else { throw HTTPError.notFound("The domain is not in the dictionary.") }
        return Response(status: 204)
    }

    @Sendable static func importDomains(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.domainsManage)
        let body = try context.decodeStrictJSON(ImportBody.self, allowedKeys: ["kind", "domains", "source"])
        guard DomainKind(rawValue: body.kind) != nil else {
            throw HTTPError.validation([.init(name: "kind", reason: "must be free, disposable, blocked or allowed")])
        }
        guard body.domains.count <= 100_000 else { throw HTTPError.validation([.init(name: "domains", reason: "at most 100000 per request")]) }
        let (valid, invalid) = DomainImport.normalize(body.domains)
        let source = String((body.source ?? "api-import").prefix(100))
        let changed = try DomainImport.upsert(context.database, domains: valid, kind: body.kind, source: source, actor: principal.actor)
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

/// Bulk dictionary changes (API and cpctl): normalized, one statement, one version bump.
public enum DomainImport {
    public static func normalize(_ lines: [String]) -> (valid: [String], invalid: [String]) {
        var valid: [String] = [], invalid: [String] = []
        var seen = Set<String>()
        for line in lines {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            if case .success(let domain) = EmailAddress.normalizeDomain(Array(text.utf8)) {
                if seen.insert(domain).inserted { valid.append(domain) }
            } else {
                invalid.append(text)
            }
        }
        return (valid, invalid)
    }

    /// Inserts or re-kinds the domains; returns how many rows changed.
    @discardableResult
    public static func upsert(_ db: PostgresConnection, domains: [String], kind: String, source: String, actor: String) throws -> Int {
        guard !domains.isEmpty else { return 0 }
        let rows = try db.query("""
            INSERT INTO email_domains (domain, kind, source, added_by)
            SELECT d, \(kind), \(source), \(actor) FROM unnest(\(bind: PostgresBind(textArray: domains))::text[]) AS d
            ON CONFLICT (domain) DO UPDATE SET kind = EXCLUDED.kind, source = EXCLUDED.source, added_by = EXCLUDED.added_by,
                   added_at = now()
            WHERE email_domains.kind IS DISTINCT FROM EXCLUDED.kind
            """)
        return rows.affectedRows
    }
}
