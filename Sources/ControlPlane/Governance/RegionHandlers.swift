import FastCGI

/// `/control/v1/regions…`: regions and their sync settings; the node registry by region.
enum RegionHandlers {
    struct Body: Decodable {
        var id: String?
        var baseUrl: String?
        var pageSize: Int?
        var requestsPerSecond: Double?
        var maxRecordsPerRun: Int?
        var enabled: Bool?

        var settings: RegionStore.Settings {
            .init(baseURL: baseUrl, pageSize: pageSize, requestsPerSecond: requestsPerSecond,
                  maxRecordsPerRun: maxRecordsPerRun, enabled: enabled)
        }
    }

    static let keys: Set<String> = ["baseUrl", "pageSize", "requestsPerSecond", "maxRecordsPerRun", "enabled"]

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        return .jsonBytes(try RegionStore(db: context.database).list())
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        return try mapFailures { .jsonBytes(try RegionStore(db: context.database).get(id: context.parameter("region"))) }
    }

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let body = try context.decodeStrictJSON(Body.self, allowedKeys: keys.union(["id"]))
        var problems = body.settings.problems(creating: true).map { HTTPError.InvalidParam(name: $0.0, reason: $0.1) }
        if let id = body.id {
            if let p = RegionStore.idProblem(id) { problems.append(.init(name: "id", reason: p)) }
        } else {
            problems.append(.init(name: "id", reason: "is required"))
        }
        guard problems.isEmpty, let id = body.id else { throw HTTPError.validation(problems) }
        return try mapFailures { .jsonBytes(try RegionStore(db: context.database).add(id: id, settings: body.settings), status: 201) }
    }

    @Sendable static func update(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let body = try context.decodeStrictJSON(Body.self, allowedKeys: keys)
        let problems = body.settings.problems(creating: false).map { HTTPError.InvalidParam(name: $0.0, reason: $0.1) }
        guard problems.isEmpty else { throw HTTPError.validation(problems) }
        return try mapFailures {
            .jsonBytes(try RegionStore(db: context.database).update(id: context.parameter("region"), settings: body.settings))
        }
    }

    @Sendable static func remove(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        return try mapFailures {
            try RegionStore(db: context.database).remove(id: context.parameter("region"))
            return Response(status: 204)
        }
    }

    static func mapFailures(_ body: () throws -> Response) throws -> Response {
        do {
            return try body()
        } catch let failure as RegionStore.Failure {
            switch failure {
            case .notFound: throw HTTPError.notFound("No such region.")
            case .exists: throw HTTPError.conflict("A region with this id exists.", slug: "region-exists")
            case .hasJobs:
                throw HTTPError.conflict("The region has synchronized jobs, whose history is kept; disable it instead (enabled: false).",
                                         slug: "region-has-jobs")
            }
        }
    }

    /// `GET /control/v1/nodes?region=&version=&readiness=`: readiness is the registry's, or
    /// STALE when the last heartbeat is older than the grace.
    @Sendable static func nodes(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var region: String?, version: String?, readiness: String?
        var problems: [HTTPError.InvalidParam] = []
        for (name, value) in context.request.queryItems {
            switch name {
            case "region": region = value
            case "version": version = value
            case "readiness":
                if ["READY", "NOT_READY", "DRAINING", "STALE"].contains(value) { readiness = value } else {
                    problems.append(.init(name: "readiness", reason: "must be READY, NOT_READY, DRAINING or STALE"))
                }
            default: problems.append(.init(name: String(name.prefix(64)), reason: "is not a known parameter"))
            }
        }
        if !problems.isEmpty { throw HTTPError(400, slug: "invalid-parameter", detail: "See invalidParams.", invalidParams: problems) }
        let grace = context.settings.nodeStaleSeconds
        let rows = try context.database.query("""
            SELECT region_id, node_id, container_version, readiness, last_heartbeat_at,
                   CASE WHEN last_heartbeat_at < now() - make_interval(secs => \(grace)) THEN 'STALE' ELSE readiness END
            FROM nodes
            WHERE (\(region)::text IS NULL OR region_id = \(region))
              AND (\(version)::text IS NULL OR container_version = \(version))
              AND (\(readiness)::text IS NULL OR
                   CASE WHEN last_heartbeat_at < now() - make_interval(secs => \(grace)) THEN 'STALE' ELSE readiness END = \(readiness))
            ORDER BY region_id, node_id
            LIMIT 5000
            """, retryOnConnectionLoss: true)
        let body = JSONWriter.list(count: rows.count) { json, row in
            json.beginObject()
            json.key("region"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("nodeId"); rows.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("containerVersion"); rows.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("reportedReadiness"); rows.withBytes(row, 3) { json.string(utf8: $0) }
            json.key("lastHeartbeatAt"); rows.withBytes(row, 4) { Timestamp.write($0, to: &json) }
            json.key("readiness"); rows.withBytes(row, 5) { json.string(utf8: $0) }
            json.endObject()
        }
        return .jsonBytes(body)
    }

    /// `GET /control/v1/regions/{region}/versions`: how many nodes run each container version.
    @Sendable static func versionCensus(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let region = context.parameter("region")
        guard try context.database.query("SELECT 1 FROM regions WHERE id = \(region)", retryOnConnectionLoss: true).count == 1 else {
            throw HTTPError.notFound("No such region.")
        }
        let grace = context.settings.nodeStaleSeconds
        let rows = try context.database.query("""
            SELECT container_version, count(*)::int,
                   count(*) FILTER (WHERE readiness = 'READY' AND last_heartbeat_at >= now() - make_interval(secs => \(grace)))::int
            FROM nodes WHERE region_id = \(region) GROUP BY container_version ORDER BY count(*) DESC, container_version
            """, retryOnConnectionLoss: true)
        let body = try JSONWriter.list(count: rows.count) { json, row in
            json.beginObject()
            json.key("containerVersion"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("nodes"); json.int(try rows.decode(row, 1, as: Int.self))
            json.key("ready"); json.int(try rows.decode(row, 2, as: Int.self))
            json.endObject()
        }
        return .jsonBytes(body)
    }
}
