import ControlPlaneCore
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
        var sweepBudgetSeconds: Int?
        var dryRun: Bool?

        var settings: RegionStore.Settings {
            .init(baseURL: baseUrl, pageSize: pageSize, requestsPerSecond: requestsPerSecond,
                  maxRecordsPerRun: maxRecordsPerRun, enabled: enabled, sweepBudgetSeconds: sweepBudgetSeconds, dryRun: dryRun)
        }
    }

    static let keys: Set<String> = ["baseUrl", "pageSize", "requestsPerSecond", "maxRecordsPerRun", "enabled", "sweepBudgetSeconds", "dryRun"]

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 1)
        try query.finish()
        let page = try RegionStore(db: context.database).list(after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, region in region.write(to: &json) })
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        return .jsonBytes(try RegionStore(db: context.database).get(id: context.parameter("region")).json)
    }

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let actor = try context.requireControlToken()
        let body = try context.decodeStrictJSON(Body.self, allowedKeys: keys.union(["id"]))
        var problems = body.settings.problems(creating: true, allowHTTP: context.settings.registryAllowHTTP).map { Problem.InvalidParam(name: $0.0, reason: $0.1) }
        if let id = body.id {
            if let p = RegionStore.idProblem(id) { problems.append(.init(name: "id", reason: p)) }
        } else {
            problems.append(.init(name: "id", reason: "is required"))
        }
        guard problems.isEmpty, let id = body.id else { throw Problem.validation(problems) }
        return .jsonBytes(try context.audited(actor: actor, action: "region.create") { db in
            (try RegionStore(db: db).add(id: id, settings: body.settings).json, target: "region:\(id)", summary: nil)
        }, status: 201)
    }

    @Sendable static func update(_ context: RequestContext) throws -> Response {
        let actor = try context.requireControlToken()
        let body = try context.decodeStrictJSON(Body.self, allowedKeys: keys)
        let problems = body.settings.problems(creating: false, allowHTTP: context.settings.registryAllowHTTP).map { Problem.InvalidParam(name: $0.0, reason: $0.1) }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        let id = context.parameter("region")
        let settings = body.settings
        let changed: [String] = [("baseUrl", settings.baseURL != nil), ("pageSize", settings.pageSize != nil),
                                 ("requestsPerSecond", settings.requestsPerSecond != nil), ("maxRecordsPerRun", settings.maxRecordsPerRun != nil),
                                 ("enabled", settings.enabled != nil), ("sweepBudgetSeconds", settings.sweepBudgetSeconds != nil),
                                 ("dryRun", settings.dryRun != nil)].filter(\.1).map(\.0)
        return .jsonBytes(try context.audited(actor: actor, action: "region.update") { db in
            (try RegionStore(db: db).update(id: id, settings: settings).json, target: "region:\(id)",
             summary: "changed " + changed.joined(separator: ", "))
        })
    }

    @Sendable static func remove(_ context: RequestContext) throws -> Response {
        let actor = try context.requireControlToken()
        let id = context.parameter("region")
        try context.audited(actor: actor, action: "region.delete") { db in
            (try RegionStore(db: db).remove(id: id), target: "region:\(id)", summary: nil)
        }
        return Response(status: 204)
    }

    /// `GET /control/v1/nodes?region=&version=&readiness=&limit=&cursor=`: readiness is the
    /// registry's, or STALE when the last heartbeat is older than the grace.
    @Sendable static func nodes(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var query = context.query
        let limit = query.limit(default: 1000, max: 5000), cursor = query.cursor(parts: 2)
        let filter = NodeStore.Filter(region: query.string("region"), version: query.string("version"),
                                      readiness: query.oneOf("readiness", NodeStore.readinessValues))
        try query.finish()
        let page = try NodeStore(db: context.database).list(filter, graceSeconds: context.settings.nodeStaleSeconds,
                                                            after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, node in node.write(to: &json) })
    }

    /// `GET /control/v1/regions/{region}/versions`: how many nodes run each container version.
    /// What the remediation brake held back in the region, newest first (the last 200).
    @Sendable static func remediationSuppressions(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let region = context.parameter("region")
        try RegionStore(db: context.database).requireExists(region)
        let rows = try RemediationSuppressionStore(db: context.database).recent(region: region, limit: 200)
        return .jsonBytes(JSONWriter.list(count: rows.count) { json, index in
            json.beginObject()
            json.key("status"); json.string(rows[index].outcome)
            json.key("rule"); json.string(rows[index].rule)
            json.key("kind"); json.string(rows[index].kind)
            json.key("target"); json.string(rows[index].target)
            json.key("reason"); json.string(rows[index].reason)
            json.key("suppressedAt"); json.timestamp(rows[index].suppressedAt)
            json.endObject()
        })
    }

    /// Each queue's desired, acknowledged and reported capacity, and whether they drift.
    @Sendable static func queues(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        try context.query.finish()  // no parameters: an unknown one is a 400, not ignored
        let region = context.parameter("region")
        try RegionStore(db: context.database).requireExists(region)
        let entries = try QueueCapacities(db: context.database).entries(region: region)
        return .jsonBytes(JSONWriter.list(count: entries.count) { json, index in entries[index].write(to: &json) })
    }

    /// Jobs COMPLETED_WITH_FINDINGS within the window, per node and per partner. They drive
    /// no command; operators look at them.
    @Sendable static func findings(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var query = context.query
        let window = query.int("windowMinutes", in: 1...10_080) ?? 30
        try query.finish()
        let region = context.parameter("region")
        try RegionStore(db: context.database).requireExists(region)
        let jobs = JobStore(db: context.database)
        let byNode = try jobs.findings(region: region, windowMinutes: window, by: .node)
        let byPartner = try jobs.findings(region: region, windowMinutes: window, by: .partner)
        var json = JSONWriter(capacity: 256 + 48 * (byNode.count + byPartner.count))
        json.beginObject()
        json.key("region"); json.string(region)
        json.key("windowMinutes"); json.int(window)
        json.key("total"); json.int(byNode.reduce(0) { $0 + $1.count })
        for (name, key, counts) in [("byNode", "nodeId", byNode), ("byPartner", "partnerId", byPartner)] {
            json.key(name)
            json.beginArray()
            for count in counts {
                json.beginObject()
                json.key(key); json.string(count.key)
                json.key("count"); json.int(count.count)
                json.endObject()
            }
            json.endArray()
        }
        json.endObject()
        return .jsonBytes(json.bytes)
    }

    @Sendable static func versionCensus(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let region = context.parameter("region")
        try RegionStore(db: context.database).requireExists(region)
        let census = try NodeStore(db: context.database).versionCensus(region: region, graceSeconds: context.settings.nodeStaleSeconds)
        return .jsonBytes(JSONWriter.list(count: census.count) { json, index in
            json.beginObject()
            json.key("containerVersion"); json.string(census[index].containerVersion)
            json.key("nodes"); json.int(census[index].nodes)
            json.key("ready"); json.int(census[index].ready)
            json.endObject()
        })
    }
}
