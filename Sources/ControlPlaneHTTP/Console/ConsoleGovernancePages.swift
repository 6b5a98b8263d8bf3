import ControlPlaneCore
import FastCGI
import OpenSSLCrypto

/// The console's governance pages: regions (settings, cursor, sweep runs, "sync now"),
/// nodes, jobs with their payloads exactly as stored, commands (issue, track to
/// acknowledgement), admin jobs, the rule table and its recent firings.
enum ConsoleGovernancePages {
    typealias Console = ConsoleHandlers

    @Sendable static func regions(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let regions: [[String: Any]] = try RegionStore(db: context.database).list(limit: 1000).items.map {
            ["id": $0.id, "health": $0.health, "enabled": $0.enabled, "dryRun": $0.dryRun, "routedTo": $0.partnerRoutingTo ?? "",
             "lastSweep": Console.shortTime($0.lastSweepAt), "lastOutcome": $0.lastSweepOutcome ?? "never",
             "lastGood": Console.shortTime($0.lastGoodSweepAt)]
        }
        return Console.page("regions", title: "Regions", viewer: viewer, data: ["regions": regions], active: "regions")
    }

    @Sendable static func region(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let id = context.parameter("region")
        var query = context.query
        let cursor = query.cursor(parts: 1), notice = Console.notice(&query, notices)
        try query.finish()
        let db = context.database
        let region = try RegionStore(db: db).get(id: id)
        let runs = try SweepRunStore(db: db).list(region: id, after: cursor, limit: 20)
        let census = try NodeStore(db: db).versionCensus(region: id, graceSeconds: context.settings.nodeStaleSeconds)
        let queues = try QueueCapacities(db: db).entries(region: id)
        let commands = try GovernanceCommandStore(db: db).list(region: id, status: nil, after: nil, limit: 10).items.map(command)
        let adminJobs = try AdminJobStore(db: db).list(region: id, after: nil, limit: 5).items.map(adminJob)
        let canAct = viewer.person.role >= .operator
        return Console.page("region", title: "Region \(id)", viewer: viewer, data: [
            "id": id, "baseUrl": region.baseURL, "enabled": region.enabled, "dryRun": region.dryRun, "pageSize": region.pageSize,
            "requestsPerSecond": region.requestsPerSecond, "maxRecordsPerRun": region.maxRecordsPerRun,
            "sweepBudgetSeconds": region.sweepBudgetSeconds, "health": region.health, "healthReason": region.healthReason ?? "",
            "healthChangedAt": Console.shortTime(region.healthChangedAt), "routedTo": region.partnerRoutingTo as Any,
            "cursor": region.hasCursor ? "kept (the next sweep resumes from it)" : "none (the next sweep starts from the beginning)",
            "lastGood": Console.shortTime(region.lastGoodSweepAt),
            "runs": runs.items.map { run -> [String: Any] in
                ["id": run.id, "trigger": run.trigger, "startedAt": Console.shortTime(run.startedAt), "pages": run.pages,
                 "records": run.records, "revisions": run.revisions, "bytes": run.bytes,
                 "duration": run.durationMs.map { "\($0) ms" } ?? "running", "outcome": run.outcome ?? "—", "error": run.error ?? ""]
            },
            "next": Console.nextPage("/console/regions/\(id)", filters: [], cursor: runs.nextCursor) as Any,
            "census": census.map { ["version": $0.containerVersion, "nodes": $0.nodes, "ready": $0.ready] },
            "queues": queues.map { entry -> [String: Any] in
                ["queue": entry.queue, "desired": entry.desired.map { String($0.capacity) } ?? "—",
                 "acknowledged": entry.acknowledged.map { String($0.capacity) } ?? "—",
                 "reported": entry.reported.map { String($0.capacity) } ?? "—", "drift": entry.drift.map(String.init) ?? "—"]
            },
            "commands": commands, "adminJobs": adminJobs, "canAct": canAct, "csrf": viewer.csrf,
            "kinds": CommandKind.allCases.map(\.rawValue),
        ], active: "regions", notice: notice)
    }

    static let notices = ["sync": "A sweep is queued: the sync's admin-job worker runs it within a minute.",
                          "command": "Command issued: it is delivered to the region's registry by the sync."]

    /// `POST /console/regions/{region}/sync` (operator role): queues a SYNC_REGION admin job.
    @Sendable static func syncNow(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let id = context.parameter("region")
        let reason = Console.reason(form) ?? "sync now, from the console"
        try context.audited(actor: viewer.actor, action: "admin_job.create", reason: reason) { db in
            try RegionStore(db: db).requireExists(id)
            let job = try AdminJobStore(db: db).create(kind: "SYNC_REGION", region: id, requestedBy: viewer.actor, reason: reason,
                                                       traceId: context.traceId)
            return ((), target: "region:\(id)", summary: "SYNC_REGION \(job.id)")
        }
        return Console.redirect("/console/regions/\(id)?done=sync")
    }

    /// `POST /console/commands` (operator role): the same checks as the control API; re-image and
    /// partner routing are confirmed on a second step.
    @Sendable static func issueCommand(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .operator)
        let region = form["region"] ?? ""
        let request = CommandRequest(region: region, kind: form["kind"] ?? "", target: (form["target"] ?? "").trimmingCharacters(in: .whitespaces),
                                     capacity: form["capacity"].flatMap { $0.isEmpty ? nil : Int($0) ?? -1 },
                                     routeTo: form["routeTo"].flatMap { $0.isEmpty ? nil : $0 }, reason: Console.reason(form) ?? "")
        // One key per form: a double submit (or a reload of the confirmation) issues one command.
        let key = form["idempotencyKey"].flatMap { $0.hasPrefix("console_") ? $0 : nil } ?? "console_" + Base64.encode(SecureRandom.bytes(16), url: true)
        let command: GovernanceCommandStore.NewCommand
        do {
            command = try request.validated(actor: viewer.actor, idempotencyKey: key)
        } catch let problem as Problem {
            let fields = problem.invalidParams.map { "\($0.name) \($0.reason)" }.joined(separator: "; ")
            throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "The command was not issued: \(fields).")
        }
        if CommandRequest.highImpact.contains(command.kind) && form["confirm"] != "yes" {
            try RegionStore(db: context.database).requireExists(region)
            var carried = form
            carried["idempotencyKey"] = key
            let what = command.kind == .reimageNode
                ? "Node \(command.target) in \(region) will be re-imaged: it stops taking jobs until it is back."
                : "Partner \(command.target) in \(region) will be routed to \(request.routeTo ?? ""): its traffic moves."
            return Console.confirmation(carried, action: "/console/commands", back: "/console/regions/\(region)",
                                        title: "Issue \(command.kind.rawValue)?", text: what, viewer: viewer)
        }
        _ = try CommandRequest.issue(command, db: context.database, traceId: context.traceId)
        return Console.redirect("/console/regions/\(region)?done=command")
    }

    static func command(_ row: GovernanceCommandStore.Row) -> [String: Any] {
        ["id": row.id, "region": row.region, "kind": row.kind, "target": row.target, "params": row.paramsJSON, "status": row.status,
         "actor": row.actor, "reason": row.reason, "attempts": row.attempts, "lastError": row.lastError ?? "",
         "issuedAt": Console.shortTime(row.issuedAt), "acknowledgedAt": Console.shortTime(row.acknowledgedAt),
         "attention": row.status == "FAILED" || row.status == "UNACKNOWLEDGED"]
    }

    static func adminJob(_ row: AdminJobStore.Row) -> [String: Any] {
        ["id": row.id, "kind": row.kind, "region": row.region, "status": row.status, "requestedBy": row.requestedBy, "reason": row.reason,
         "result": row.result ?? "", "requestedAt": Console.shortTime(row.requestedAt), "finishedAt": Console.shortTime(row.finishedAt)]
    }

    @Sendable static func commands(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let region = query.string("region"), status = query.oneOf("status", GovernanceCommandStore.statuses)
        let cursor = query.cursor(parts: 2)
        try query.finish()
        let page = try GovernanceCommandStore(db: context.database).list(region: region, status: status, after: cursor, limit: 50)
        return Console.page("commands", title: "Commands", viewer: viewer, data: [
            "commands": page.items.map(command), "region": region ?? "",
            "statuses": GovernanceCommandStore.statuses.map { ["value": $0, "selected": $0 == status] },
            "next": Console.nextPage("/console/commands", filters: [("region", region), ("status", status)], cursor: page.nextCursor) as Any,
        ], active: "commands")
    }

    @Sendable static func adminJobs(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let region = query.string("region"), cursor = query.cursor(parts: 2)
        try query.finish()
        let page = try AdminJobStore(db: context.database).list(region: region, after: cursor, limit: 50)
        return Console.page("adminjobs", title: "Admin jobs", viewer: viewer, data: [
            "adminJobs": page.items.map(adminJob), "region": region ?? "",
            "next": Console.nextPage("/console/admin-jobs", filters: [("region", region)], cursor: page.nextCursor) as Any,
        ], active: "commands")
    }

    @Sendable static func nodes(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let filter = NodeStore.Filter(region: query.string("region"), version: query.string("version"),
                                      readiness: query.oneOf("readiness", NodeStore.readinessValues))
        let cursor = query.cursor(parts: 2)
        try query.finish()
        let page = try NodeStore(db: context.database).list(filter, graceSeconds: context.settings.nodeStaleSeconds, after: cursor, limit: 100)
        return Console.page("nodes", title: "Nodes", viewer: viewer, data: [
            "nodes": page.items.map { node -> [String: Any] in
                ["region": node.region, "nodeId": node.nodeId, "version": node.containerVersion, "readiness": node.readiness,
                 "reported": node.reportedReadiness, "heartbeat": Console.shortTime(node.lastHeartbeatAt)]
            },
            "region": filter.region ?? "", "version": filter.version ?? "",
            "readinessValues": NodeStore.readinessValues.map { ["value": $0, "selected": $0 == filter.readiness] },
            "next": Console.nextPage("/console/nodes", filters: [("region", filter.region), ("version", filter.version),
                                                                 ("readiness", filter.readiness)], cursor: page.nextCursor) as Any,
        ], active: "nodes")
    }

    @Sendable static func jobs(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        var query = context.query
        let filter = JobStore.Filter(region: query.string("region"), status: query.string("status"),
                                     updatedSince: query.timestamp("updatedSince"))
        let cursor = query.cursor(parts: 2)
        try query.finish()
        let page = try JobStore(db: context.database).list(filter, after: cursor, limit: 100)
        let rows = page.items
        // Columns in JobStore.listColumns order: region, job id, status, updated at, payload SHA-256, revision.
        let jobs: [[String: Any]] = try (0..<page.count).map { row in
            ["region": try rows.decode(row, 0, as: String.self), "jobId": try rows.decode(row, 1, as: String.self),
             "status": try rows.decode(row, 2, as: String.self), "updatedAt": Console.shortTime(try rows.decode(row, 3, as: String.self)),
             "sha256": try rows.decode(row, 4, as: String.self), "revision": try rows.decode(row, 5, as: Int.self)]
        }
        return Console.page("jobs", title: "Jobs", viewer: viewer, data: [
            "jobs": jobs, "region": filter.region ?? "", "status": filter.status ?? "", "updatedSince": filter.updatedSince ?? "",
            "next": Console.nextPage("/console/jobs", filters: [("region", filter.region), ("status", filter.status),
                                                                ("updatedSince", filter.updatedSince)], cursor: page.nextCursor) as Any,
        ], active: "jobs")
    }

    /// A job and its revisions, each payload shown as the exact bytes stored (as text, escaped),
    /// with its SHA-256 and a download of the bytes themselves.
    @Sendable static func job(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let region = context.parameter("region"), jobId = context.parameter("jobId")
        let jobs = JobStore(db: context.database)
        guard let job = try jobs.get(region: region, jobId: jobId) else {
            throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such job in this region.")
        }
        let revisions = try jobs.revisions(region: region, jobId: jobId)
        // Columns in JobStore.revisionColumns order, read in binary.
        // Newest first; the newest three show their payload inline (a page stays under 100 KB with
        // 20 KB payloads), older ones their SHA-256 and the download.
        let listed: [[String: Any]] = (0..<revisions.count).reversed().enumerated().map { shown, row in
            let bytes = revisions.withBytes(row, 5) { Array($0 ?? UnsafeBufferPointer(start: nil, count: 0)) }
            let text = revisions.withBytes(row, 0) { String(decoding: $0 ?? UnsafeBufferPointer(start: nil, count: 0), as: UTF8.self) }
            var entry: [String: Any] = ["revision": text, "status": revisions.withBytes(row, 1) { String(decoding: $0!, as: UTF8.self) },
                    "updatedAt": revisions.withBytes(row, 2) { String(decoding: $0!, as: UTF8.self) },
                    "sha256": revisions.withBytes(row, 3) { String(decoding: $0!, as: UTF8.self) },
                    "receivedAt": Console.shortTime(revisions.withBytes(row, 4) { String(decoding: $0!, as: UTF8.self) }),
                    "bytes": bytes.count, "utf8": String(validating: bytes, as: UTF8.self) != nil,
                    "download": downloadPath(region, jobId, revision: text)]
            if shown < 3 { entry["payload"] = String(decoding: bytes, as: UTF8.self) }
            return entry
        }
        return Console.page("job", title: "Job \(jobId)", viewer: viewer, data: [
            "region": region, "jobId": jobId, "status": job.status, "nodeId": job.nodeId ?? "", "revision": job.currentRevision,
            "sha256": job.payloadSha256, "updatedAt": job.updatedAt, "firstSeenAt": Console.shortTime(job.firstSeenAt),
            "lastSyncedAt": Console.shortTime(job.lastSyncedAt), "revisions": listed,
        ], active: "jobs")
    }

    static func downloadPath(_ region: String, _ jobId: String, revision: String) -> String {
        "/console/jobs/\(URLEncoding.component(region))/\(URLEncoding.component(jobId))/payload?revision=\(revision)"
    }

    /// The stored bytes of one revision, as a download (never rendered by the browser).
    @Sendable static func payload(_ context: RequestContext) throws -> Response {
        _ = try Console.viewer(context)
        var query = context.query
        let revision = query.int("revision", in: 1...Int(Int32.max))
        try query.finish()
        let region = context.parameter("region"), jobId = context.parameter("jobId")
        guard let payload = try JobStore(db: context.database).payload(region: region, jobId: jobId, revision: revision) else {
            throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such job or revision in this region.")
        }
        var headers = HTTPHeaders(Console.securityHeaders)
        headers.add("content-type", "application/octet-stream")
        headers.add("content-disposition", "attachment; filename=\"job-\(payload.revision).json\"")
        headers.add("repr-digest", "sha-256=:\(Base64.encode(payload.sha256)):")
        headers.add("x-content-type-options", "nosniff")
        return Response(status: 200, headers: headers, body: payload.bytes)
    }

    @Sendable static func rules(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let firings = try AuditLogStore(db: context.database).list(.init(actorPrefix: "rule:"), after: nil, limit: 50).items
        return Console.page("rules", title: "Rules", viewer: viewer, data: [
            "rules": GovernanceRules.table.map { ["id": $0.id, "when": $0.when, "then": $0.then] },
            "entries": firings.map(ConsoleHandlers.auditEntry),
        ], active: "rules")
    }
}
