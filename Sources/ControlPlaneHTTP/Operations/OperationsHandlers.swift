import ControlPlaneCore
import FastCGI
import Foundation
import Postgres

/// `GET /internal/metrics` (Prometheus text) and `GET /internal/status` (php-fpm's status
/// page, as JSON), for operators (`operations:read`).
enum OperationsHandlers {
    @Sendable static func metrics(_ context: RequestContext) throws -> Response {
        try context.requireScope(.operationsRead)
        var out = ""
        out.reserveCapacity(16 * 1024)
        context.metrics.render(into: &out)
        context.tokenLimiter.render(into: &out)
        ProcessMetrics.render(into: &out)
        Metrics.sample("controlplane_attempt_log_batches_total", .counter,
                       "Statements the email check's attempt-log writer ran (one commit each).",
                       context.attemptLog.batches.load(ordering: .relaxed), into: &out)
        Metrics.sample("controlplane_attempt_log_rows_total", .counter,
                       "Attempt rows those statements held (rows / batches: the group commit's batch size).",
                       context.attemptLog.rowsBatched.load(ordering: .relaxed), into: &out)
        if let directory = context.tenantDirectory.loaded {
            Metrics.sample("controlplane_tenant_directory_version", .gauge,
                           "The tenant change version this process's in-memory directory holds.", directory.version, into: &out)
            Metrics.sample("controlplane_tenant_directory_tenants", .gauge, "Tenants in this process's in-memory directory.",
                           directory.count, into: &out)
        }
        // Backlogs and sync freshness, read at scrape time (each from its table's store).
        let db = context.database
        let outboxes = try outboxes(db)
        out += "# HELP controlplane_outbox_pending Messages waiting in each outbox.\n# TYPE controlplane_outbox_pending gauge\n"
        for entry in outboxes { out += "controlplane_outbox_pending{outbox=\"\(entry.name)\"} \(entry.backlog.pending)\n" }
        out += "# HELP controlplane_outbox_dead Messages each outbox gave up on (dead-lettered, or FAILED for commands and admin jobs).\n"
        out += "# TYPE controlplane_outbox_dead gauge\n"
        for entry in outboxes { out += "controlplane_outbox_dead{outbox=\"\(entry.name)\"} \(entry.backlog.dead)\n" }
        out += "# HELP controlplane_outbox_oldest_pending_age_seconds How long the oldest waiting message has waited (absent: none waits).\n"
        out += "# TYPE controlplane_outbox_oldest_pending_age_seconds gauge\n"
        for entry in outboxes {
            guard let age = entry.backlog.oldestPendingSeconds else { continue }
            out += "controlplane_outbox_oldest_pending_age_seconds{outbox=\"\(entry.name)\"} \(age)\n"
        }
        let endpointStates = try WebhookEndpointStore(db: db).stateCounts()
        out += "# HELP controlplane_webhook_endpoints Webhook endpoints by delivery state (failing: waiting for the next probe).\n"
        out += "# TYPE controlplane_webhook_endpoints gauge\n"
        for entry in endpointStates { out += "controlplane_webhook_endpoints{state=\"\(entry.state)\"} \(entry.endpoints)\n" }
        out += "# HELP controlplane_webhook_endpoint_backlog Pending webhook messages by their endpoint's delivery state.\n"
        out += "# TYPE controlplane_webhook_endpoint_backlog gauge\n"
        for entry in endpointStates { out += "controlplane_webhook_endpoint_backlog{state=\"\(entry.state)\"} \(entry.pending)\n" }
        out += "# HELP controlplane_admin_jobs Admin jobs by status (FAILED includes runners lost).\n# TYPE controlplane_admin_jobs gauge\n"
        let jobs = try AdminJobStore(db: db).countsByStatus()
        for status in ["PENDING", "RUNNING", "SUCCEEDED", "FAILED"] { out += "controlplane_admin_jobs{status=\"\(status)\"} \(jobs[status] ?? 0)\n" }
        out += "# HELP controlplane_commands_unacknowledged Commands delivered without acknowledgement past the deadline, awaiting redelivery.\n"
        out += "# TYPE controlplane_commands_unacknowledged gauge\ncontrolplane_commands_unacknowledged \(try GovernanceCommandStore(db: db).unacknowledgedCount())\n"
        let regions = try RegionStore(db: db).freshness()
        let lastRecords = try SweepRunStore(db: db).lastRecordsByRegion()
        // "Never swept" is an absent series, as Prometheus expects, not 0 or -1.
        out += "# HELP controlplane_region_last_good_sweep_timestamp_seconds Unix time of the region's last successful sweep (absent: never).\n"
        out += "# TYPE controlplane_region_last_good_sweep_timestamp_seconds gauge\n"
        var records = "# HELP controlplane_region_last_sweep_records Records the region's last sweep took in (a full page count means a backlog).\n# TYPE controlplane_region_last_sweep_records gauge\n"
        var health = "# HELP controlplane_region_health 1 for the region's current health.\n# TYPE controlplane_region_health gauge\n"
        for region in regions {
            let id = Metrics.escape(region.id)
            if region.lastGoodSweepUnix > 0 {
                out += "controlplane_region_last_good_sweep_timestamp_seconds{region=\"\(id)\"} \(region.lastGoodSweepUnix)\n"
            }
            if let count = lastRecords[region.id] { records += "controlplane_region_last_sweep_records{region=\"\(id)\"} \(count)\n" }
            for state in ["HEALTHY", "PARTIAL", "DEGRADED"] {
                health += "controlplane_region_health{region=\"\(id)\",health=\"\(state)\"} \(state == region.health ? 1 : 0)\n"
            }
        }
        out += records + health
        Metrics.sample("controlplane_trial_sends_this_hour", .gauge, "Code emails the funnel queued this hour (all domains).",
                       try TrialRateCounterStore(db: db).globalSendsThisHour(), into: &out)
        Metrics.sample("controlplane_trial_send_budget_per_hour", .gauge,
                       "The hourly send budget (CONTROLPLANE_OTP_MAX_SENDS_PER_HOUR): at it, sends answer 429.",
                       context.settings.trial.maxSendsPerHour, into: &out)
        out += "# HELP controlplane_queue_capacity_drift A queue's reported capacity minus the desired one (0: as asked).\n"
        out += "# TYPE controlplane_queue_capacity_drift gauge\n"
        for entry in try QueueCapacities(db: db).entries(region: nil) {
            guard let drift = entry.drift else { continue }
            out += "controlplane_queue_capacity_drift{region=\"\(Metrics.escape(entry.region))\",queue=\"\(Metrics.escape(entry.queue))\"} \(drift)\n"
        }
        var headers = HTTPHeaders()
        headers.add("content-type", "text/plain; version=0.0.4; charset=utf-8")
        headers.add("cache-control", "no-store")
        return Response(status: 200, headers: headers, body: Array(out.utf8))
    }

    /// Every outbox with its backlog, for the metrics and the console's overview.
    static func outboxes(_ db: PostgresConnection) throws -> [(name: String, title: String, link: String?, backlog: OutboxBacklog)] {
        [("webhook", "webhooks", "/console/webhooks", try WebhookOutboxStore(db: db).backlog()),
         ("email", "emails", nil, try EmailOutboxStore(db: db).backlog()),
         ("governance_command", "governance commands", "/console/commands", try GovernanceCommandStore(db: db).backlog()),
         ("admin_job", "admin jobs", "/console/admin-jobs", try AdminJobStore(db: db).backlog())]
    }

    @Sendable static func status(_ context: RequestContext) throws -> Response {
        try context.requireScope(.operationsRead)
        var json = JSONWriter()
        json.beginObject()
        if let stats = context.metrics.serverStats {
            let busy = stats.inFlightCount
            json.key("uptimeSeconds"); json.int(Int((MonotonicClock.nanoseconds() - stats.startedAt) / 1_000_000_000))
            json.key("threads"); json.int(stats.threadCount)
            json.key("busy"); json.int(busy)
            json.key("idle"); json.int(max(0, stats.threadCount - busy))
            json.key("accepted"); json.int(stats.acceptedCount)
            json.key("inFlight"); json.int(busy)
            json.key("maxInFlight"); json.int(stats.maxInFlightCount)
            json.key("slowRequests"); json.int(stats.slowRequestCount)
        }
        json.key("databaseReconnects"); json.int(context.metrics.databaseReconnects.load(ordering: .relaxed))
        json.key("dictionaryVersion"); json.int(Int(context.dictionary.version))
        json.key("dictionaryDomains"); json.int(context.dictionary.table.count)
        json.endObject()
        var response = Response.jsonBytes(json.bytes)
        response.headers.add("cache-control", "no-store")
        return response
    }

    /// `GET /internal/audit`: who did what, newest first (`audit:read`).
    @Sendable static func audit(_ context: RequestContext) throws -> Response {
        try context.requireScope(.auditRead)
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 1)
        let filter = AuditLogStore.Filter(actor: query.string("actor"), action: query.string("action"),
                                          target: query.string("target", maxBytes: 300), since: query.timestamp("since"))
        try query.finish()
        let page = try AuditLogStore(db: context.database).list(filter, after: cursor, limit: limit)
        return .jsonBytes(JSONWriter.list(page) { json, row in AuditLogStore.write(row, to: &json) })
    }
}
