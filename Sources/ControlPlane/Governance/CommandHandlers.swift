import Postgres
import Crypto
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
        var problems: [HTTPError.InvalidParam] = []
        let kind = CommandKind(rawValue: body.kind)
        if kind == nil { problems.append(.init(name: "kind", reason: "must be QUEUE_CAPACITY, REIMAGE_NODE or PARTNER_ROUTING")) }
        if !(1...200).contains(body.target.utf8.count) { problems.append(.init(name: "target", reason: "must be 1 to 200 bytes")) }
        if body.reason.trimmingCharacters(in: .whitespaces).isEmpty || body.reason.count > 500 {
            problems.append(.init(name: "reason", reason: "is required (at most 500 characters)"))
        }
        let key = body.idempotencyKey ?? context.request.headers["idempotency-key"] ?? "cmd_" + Base64.encode(SecureRandom.bytes(16), url: true)
        if !(1...200).contains(key.utf8.count) { problems.append(.init(name: "idempotencyKey", reason: "must be 1 to 200 bytes")) }
        var params = JSONWriter()
        params.beginObject()
        switch kind {
        case .queueCapacity:
            if let capacity = body.params?.capacity, (0...100_000).contains(capacity) {
                params.key("capacity"); params.int(capacity)
            } else {
                problems.append(.init(name: "params.capacity", reason: "must be an integer from 0 to 100000"))
            }
            if body.params?.routeTo != nil { problems.append(.init(name: "params.routeTo", reason: "does not apply to QUEUE_CAPACITY")) }
        case .partnerRouting:
            if let route = body.params?.routeTo, RegionStore.idProblem(route) == nil {
                params.key("routeTo"); params.string(route)
            } else {
                problems.append(.init(name: "params.routeTo", reason: "must be a region id"))
            }
            if body.params?.capacity != nil { problems.append(.init(name: "params.capacity", reason: "does not apply to PARTNER_ROUTING")) }
        case .reimageNode:
            if body.params?.capacity != nil || body.params?.routeTo != nil {
                problems.append(.init(name: "params", reason: "REIMAGE_NODE takes no parameters"))
            }
        case nil: break
        }
        params.endObject()
        guard problems.isEmpty, let kind else { throw HTTPError.validation(problems) }
        let store = GovernanceCommandStore(db: context.database)
        do {
            let outcome = try context.database.transaction { _ in
                try store.issue(.init(region: body.region, kind: kind, target: body.target,
                                      paramsJSON: String(decoding: params.bytes, as: UTF8.self),
                                      actor: actor, reason: body.reason, idempotencyKey: key))
            }
            switch outcome {
            case .created(let json): return .jsonBytes(json, status: 201)
            case .existing(let json): return .jsonBytes(json, status: 200)
            }
        } catch let failure as GovernanceCommandStore.Failure {
            throw map(failure)
        }
    }

    static func map(_ failure: GovernanceCommandStore.Failure) -> HTTPError {
        switch failure {
        case .unknownRegion: HTTPError.validation([.init(name: "region", reason: "is not a known region")])
        case .idempotencyKeyReused: HTTPError.conflict("This idempotency key was used for a different command.", slug: "idempotency-key-reused")
        case .notFound: HTTPError.notFound("No such command.")
        case .illegalTransition(let status): HTTPError.conflict("Only a DELIVERED command can be acknowledged; this one is \(status).", slug: "illegal-transition")
        }
    }

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var region: String?, status: String?, limit = 100
        for (name, value) in context.request.queryItems {
            switch name {
            case "region": region = value
            case "status":
                guard ["PENDING", "DELIVERED", "ACKNOWLEDGED", "FAILED"].contains(value) else {
                    throw HTTPError(400, slug: "invalid-parameter", detail: "status must be PENDING, DELIVERED, ACKNOWLEDGED or FAILED.",
                                    invalidParams: [.init(name: "status", reason: "unknown status")])
                }
                status = value
            case "limit":
                guard let n = Int(value), (1...1000).contains(n) else {
                    throw HTTPError(400, slug: "invalid-parameter", detail: "limit must be 1 to 1000.", invalidParams: [.init(name: "limit", reason: "out of range")])
                }
                limit = n
            default:
                throw HTTPError(400, slug: "invalid-parameter", detail: "Unknown parameter.", invalidParams: [.init(name: String(name.prefix(64)), reason: "is not a known parameter")])
            }
        }
        return .jsonBytes(try GovernanceCommandStore(db: context.database).list(region: region, status: status, limit: limit))
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        do {
            return .jsonBytes(try GovernanceCommandStore(db: context.database).get(id: context.parameter("id")))
        } catch let failure as GovernanceCommandStore.Failure { throw map(failure) }
    }

    struct AckBody: Decodable { var detail: String? }

    @Sendable static func acknowledge(_ context: RequestContext) throws -> Response {
        let actor = try context.requireControlToken()
        let detail = context.request.body.isEmpty ? nil : try context.decodeStrictJSON(AckBody.self, allowedKeys: ["detail"]).detail
        do {
            return .jsonBytes(try GovernanceCommandStore(db: context.database).acknowledge(id: context.parameter("id"), actor: actor, detail: detail))
        } catch let failure as GovernanceCommandStore.Failure { throw map(failure) }
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
        var problems: [HTTPError.InvalidParam] = []
        if !["SYNC_REGION", "RECOVER_ENVIRONMENT"].contains(body.kind) {
            problems.append(.init(name: "kind", reason: "must be SYNC_REGION or RECOVER_ENVIRONMENT"))
        }
        if body.reason.trimmingCharacters(in: .whitespaces).isEmpty || body.reason.count > 500 {
            problems.append(.init(name: "reason", reason: "is required (at most 500 characters)"))
        }
        guard problems.isEmpty else { throw HTTPError.validation(problems) }
        let rows = try context.database.query("""
            INSERT INTO admin_jobs (kind, region_id, requested_by, reason)
            SELECT \(body.kind), \(body.region), \(actor), \(body.reason) WHERE EXISTS (SELECT 1 FROM regions WHERE id = \(body.region))
            RETURNING id::text, kind, region_id, status, requested_by, reason, result::text, requested_at, started_at, finished_at
            """)
        guard rows.count == 1 else { throw HTTPError.validation([.init(name: "region", reason: "is not a known region")]) }
        var json = JSONWriter()
        writeAdminJob(rows, row: 0, to: &json)
        return .jsonBytes(json.bytes, status: 201)
    }

    @Sendable static func listAdminJobs(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let region = context.request.queryValue("region")
        let rows = try context.database.query("""
            SELECT id::text, kind, region_id, status, requested_by, reason, result::text, requested_at, started_at, finished_at
            FROM admin_jobs WHERE (\(region)::text IS NULL OR region_id = \(region))
            ORDER BY requested_at DESC LIMIT 200
            """, retryOnConnectionLoss: true)
        return .jsonBytes(JSONWriter.list(count: rows.count) { json, row in writeAdminJob(rows, row: row, to: &json) })
    }

    @Sendable static func getAdminJob(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let id = context.parameter("id")
        guard TenantValidation.isUUID(id) else { throw HTTPError.notFound("No such admin job.") }
        let rows = try context.database.query("""
            SELECT id::text, kind, region_id, status, requested_by, reason, result::text, requested_at, started_at, finished_at
            FROM admin_jobs WHERE id = \(id)::uuid
            """, retryOnConnectionLoss: true)
        guard rows.count == 1 else { throw HTTPError.notFound("No such admin job.") }
        var json = JSONWriter()
        writeAdminJob(rows, row: 0, to: &json)
        return .jsonBytes(json.bytes)
    }

    static func writeAdminJob(_ rows: Postgres.PostgresRows, row: Int, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); rows.withBytes(row, 0) { json.string(utf8: $0) }
        json.key("kind"); rows.withBytes(row, 1) { json.string(utf8: $0) }
        json.key("region"); rows.withBytes(row, 2) { json.string(utf8: $0) }
        json.key("status"); rows.withBytes(row, 3) { json.string(utf8: $0) }
        json.key("requestedBy"); rows.withBytes(row, 4) { json.string(utf8: $0) }
        json.key("reason"); rows.withBytes(row, 5) { json.string(utf8: $0) }
        json.key("result"); rows.withBytes(row, 6) { if let r = $0 { json.raw(Array(r)) } else { json.null() } }
        json.key("requestedAt"); rows.withBytes(row, 7) { Timestamp.write($0, to: &json) }
        json.key("startedAt"); rows.withBytes(row, 8) { Timestamp.write($0, to: &json) }
        json.key("finishedAt"); rows.withBytes(row, 9) { Timestamp.write($0, to: &json) }
        json.endObject()
    }
}
