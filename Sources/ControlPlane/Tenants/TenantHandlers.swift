import FastCGI
import Postgres

/// `/internal/tenants…`: create, read and move tenants through their lifecycle.
enum TenantHandlers {
    struct CreateBody: Decodable {
        var slug: String
        var displayName: String
        var contactEmail: String
        var plan: String?
    }

    struct ReasonBody: Decodable {
        var reason: String?
    }

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.tenantsWrite)
        let body = try context.decodeStrictJSON(CreateBody.self, allowedKeys: ["slug", "displayName", "contactEmail", "plan"])
        var problems: [HTTPError.InvalidParam] = []
        if let p = TenantValidation.slugProblem(body.slug) { problems.append(.init(name: "slug", reason: p)) }
        if let p = TenantValidation.displayNameProblem(body.displayName) { problems.append(.init(name: "displayName", reason: p)) }
        if let p = TenantValidation.emailProblem(body.contactEmail) { problems.append(.init(name: "contactEmail", reason: p)) }
        if let plan = body.plan, let p = TenantValidation.planProblem(plan) { problems.append(.init(name: "plan", reason: p)) }
        guard problems.isEmpty else { throw HTTPError.validation(problems) }
        let tenant = TenantStore.NewTenant(slug: body.slug, displayName: body.displayName.trimmingCharacters(in: .whitespaces),
                                           contactEmail: body.contactEmail, plan: body.plan ?? "trial")
        do {
            let json = try TenantStore(db: context.database, actor: principal.actor).create(tenant)
            return Response.jsonBytes(json, status: 201)
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw HTTPError.conflict("A tenant with this slug already exists.", slug: "slug-taken")
        }
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.tenantsRead)
        return try mapFailures { .jsonBytes(try TenantStore(db: context.database, actor: principal.actor).get(context.parameter("id"))) }
    }

    @Sendable static func events(_ context: RequestContext) throws -> Response {
        try context.requireScope(.tenantsRead)
        let id = context.parameter("id")
        guard TenantValidation.isUUID(id) else { throw HTTPError.notFound("No such tenant.") }
        let exists = try context.database.query("SELECT 1 FROM tenants_master WHERE id = \(id)::uuid", retryOnConnectionLoss: true)
        guard exists.count == 1 else { throw HTTPError.notFound("No such tenant.") }
        let rows = try context.database.query("""
            SELECT from_status, to_status, actor, reason, occurred_at FROM tenant_events
            WHERE tenant_id = \(id)::uuid ORDER BY id
            """, retryOnConnectionLoss: true)
        let body = JSONWriter.list(count: rows.count, capacity: 128 * (rows.count + 1)) { json, row in
            json.beginObject()
            json.key("fromStatus"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("toStatus"); rows.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("actor"); rows.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("reason"); rows.withBytes(row, 3) { json.string(utf8: $0) }
            json.key("occurredAt"); rows.withBytes(row, 4) { Timestamp.write($0, to: &json) }
            json.endObject()
        }
        return .jsonBytes(body)
    }

    static func action(_ action: TenantAction, reasonRequired: Bool) -> Router.Handler {
        { context in
            let principal = try context.requireScope(.tenantsWrite)
            var reason: String?
            if !context.request.body.isEmpty || reasonRequired {
                reason = try context.decodeStrictJSON(ReasonBody.self, allowedKeys: ["reason"]).reason
            }
            if let r = reason, r.count > 500 { throw HTTPError.validation([.init(name: "reason", reason: "must be at most 500 characters")]) }
            if reasonRequired && (reason?.trimmingCharacters(in: .whitespaces).isEmpty ?? true) {
                throw HTTPError.validation([.init(name: "reason", reason: "is required")])
            }
            return try mapFailures {
                .jsonBytes(try TenantStore(db: context.database, actor: principal.actor)
                    .perform(action, on: context.parameter("id"), reason: reason))
            }
        }
    }

    static func mapFailures(_ body: () throws -> Response) throws -> Response {
        do {
            return try body()
        } catch let failure as TenantStore.Failure {
            switch failure {
            case .notFound: throw HTTPError.notFound("No such tenant.")
            case .illegalTransition(let from, let verb):
                throw HTTPError.conflict("Cannot \(verb) a tenant that is \(from).", slug: "illegal-transition")
            case .hostnameTaken: throw HTTPError.conflict("Another tenant already has this site hostname.", slug: "hostname-taken")
            }
        }
    }
}
