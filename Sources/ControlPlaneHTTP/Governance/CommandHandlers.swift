import ControlPlaneCore
import Postgres
import OpenSSLCrypto
import FastCGI
import Foundation

/// `/control/v1/commands…` and `/control/v1/admin-jobs…`.
enum CommandHandlers {
    struct Params: Decodable {
        var capacity: Int?
        var routeTo: String?
    }

    struct CreateBody: Decodable {
        var region: String
        var kind: String
        var target: String
        var params: Params?
        var reason: String
        var idempotencyKey: String?
    }

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let actor = try context.requireControlToken()
        let body = try context.decodeStrictJSON(CreateBody.self, allowedKeys: ["region", "kind", "target", "params", "reason", "idempotencyKey"])
        let key = body.idempotencyKey ?? context.request.headers["idempotency-key"] ?? "cmd_" + Base64.encode(SecureRandom.bytes(16), url: true)
        let command = try CommandRequest(region: body.region, kind: body.kind, target: body.target, capacity: body.params?.capacity,
                                         routeTo: body.params?.routeTo, reason: body.reason).validated(actor: actor, idempotencyKey: key)
        switch try CommandRequest.issue(command, db: context.database, traceId: context.traceId) {  // a replay changes nothing
        case .created(let json): return .jsonBytes(json, status: 201)
        case .existing(let json): return .jsonBytes(json, status: 200)
        }
    }

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 2)
        let region = query.string("region"), status = query.oneOf("status", GovernanceCommandStore.statuses)
        try query.finish()
        let page = try GovernanceCommandStore(db: context.database).list(region: region, status: status, after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, command in command.write(to: &json, events: nil) })
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        return .jsonBytes(try GovernanceCommandStore(db: context.database).get(id: context.parameter("id")))
    }

    struct AckBody: Decodable { var detail: String? }

    @Sendable static func acknowledge(_ context: RequestContext) throws -> Response {
        let actor = try context.requireControlToken()
        let detail = context.request.body.isEmpty ? nil : try context.decodeStrictJSON(AckBody.self, allowedKeys: ["detail"]).detail
        let id = context.parameter("id")
        return .jsonBytes(try context.audited(actor: actor, action: "command.acknowledge", reason: detail) { db in
            (try GovernanceCommandStore(db: db).acknowledge(id: id, actor: actor, detail: detail), target: "command:\(id)", summary: nil)
        })
    }

    // MARK: admin jobs

    struct AdminJobBody: Decodable {
        var kind: String
        var region: String
        var reason: String
    }

    @Sendable static func createAdminJob(_ context: RequestContext) throws -> Response {
        let actor = try context.requireControlToken()
        let body = try context.decodeStrictJSON(AdminJobBody.self, allowedKeys: ["kind", "region", "reason"])
        var problems: [Problem.InvalidParam] = []
        if !AdminJobStore.kinds.contains(body.kind) {
            problems.append(.init(name: "kind", reason: "must be \(AdminJobStore.kinds.joined(separator: " or "))"))
        }
        if body.reason.trimmingCharacters(in: .whitespaces).isEmpty || body.reason.count > 500 {
            problems.append(.init(name: "reason", reason: "is required (at most 500 characters)"))
        }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        let job = try context.audited(actor: actor, action: "admin_job.create", reason: body.reason) { db in
            (try AdminJobStore(db: db).create(kind: body.kind, region: body.region, requestedBy: actor, reason: body.reason,
                                              traceId: context.traceId),
             target: "region:\(body.region)", summary: body.kind)
        }
        var json = JSONWriter()
        job.write(to: &json)
        return .jsonBytes(json.bytes, status: 201)
    }

    @Sendable static func listAdminJobs(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var query = context.query
        let limit = query.limit(default: 200, max: 1000), cursor = query.cursor(parts: 2), region = query.string("region")
        try query.finish()
        let page = try AdminJobStore(db: context.database).list(region: region, after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, job in job.write(to: &json) })
    }

    @Sendable static func getAdminJob(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var json = JSONWriter()
        try AdminJobStore(db: context.database).get(context.parameter("id")).write(to: &json)
        return .jsonBytes(json.bytes)
    }
}
