import ControlPlaneCore
import FastCGI

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
        var problems: [Problem.InvalidParam] = []
        if let p = TenantValidation.slugProblem(body.slug) { problems.append(.init(name: "slug", reason: p)) }
        if let p = TenantValidation.displayNameProblem(body.displayName) { problems.append(.init(name: "displayName", reason: p)) }
        if let p = TenantValidation.emailProblem(body.contactEmail) { problems.append(.init(name: "contactEmail", reason: p)) }
        if let plan = body.plan, let p = TenantValidation.planProblem(plan) { problems.append(.init(name: "plan", reason: p)) }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        let tenant = TenantStore.NewTenant(slug: body.slug, displayName: body.displayName.trimmingCharacters(in: .whitespaces),
                                           contactEmail: body.contactEmail, plan: body.plan ?? "trial")
        return .jsonBytes(try TenantService(db: context.database, actor: principal.actor, traceId: context.traceId).create(tenant), status: 201)
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.tenantsRead)
        return .jsonBytes(try TenantService(db: context.database, actor: principal.actor, traceId: context.traceId).get(context.parameter("id")))
    }

    @Sendable static func events(_ context: RequestContext) throws -> Response {
        let principal = try context.requireScope(.tenantsRead)
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 1)
        try query.finish()
        let page = try TenantService(db: context.database, actor: principal.actor, traceId: context.traceId)
            .events(context.parameter("id"), after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page, capacity: 128 * (page.count + 1)) { json, event in
            json.beginObject()
            json.key("fromStatus"); json.string(event.fromStatus)
            json.key("toStatus"); json.string(event.toStatus)
            json.key("actor"); json.string(event.actor)
            json.key("reason"); json.string(event.reason)
            json.key("occurredAt"); json.timestamp(event.occurredAt)
            json.endObject()
        })
    }

    static func action(_ action: TenantAction, reasonRequired: Bool) -> Router.Handler {
        { context in
            let principal = try context.requireScope(.tenantsWrite)
            var reason: String?
            if !context.request.body.isEmpty || reasonRequired {
                reason = try context.decodeStrictJSON(ReasonBody.self, allowedKeys: ["reason"]).reason
            }
            if let r = reason, r.count > 500 { throw Problem.validation("reason", "must be at most 500 characters") }
            if reasonRequired && (reason?.trimmingCharacters(in: .whitespaces).isEmpty ?? true) {
                throw Problem.validation("reason", "is required")
            }
            return .jsonBytes(try TenantService(db: context.database, actor: principal.actor, traceId: context.traceId)
                .perform(action, on: context.parameter("id"), reason: reason))
        }
    }
}
