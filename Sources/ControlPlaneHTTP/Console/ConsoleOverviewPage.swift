import ControlPlaneCore
import FastCGI

/// The console's first page: what waits for the operator, and how the system is doing.
enum ConsoleOverviewPage {
    typealias Console = ConsoleHandlers

    @Sendable static func show(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let db = context.database
        let waiting = try TrialDraftStore(db: db).count(status: "submitted")
        let outboxes: [[String: Any]] = try OperationsHandlers.outboxes(db).map { entry in
            ["name": entry.title, "pending": entry.backlog.pending, "dead": entry.backlog.dead, "link": entry.link as Any,
             "oldest": entry.backlog.oldestPendingSeconds.map { Console.duration(Int($0)) } ?? "—"]
        }
        let regions: [[String: Any]] = try RegionStore(db: db).freshness().map {
            ["id": $0.id, "health": $0.health, "behind": $0.secondsBehind < 0 ? "never" : String($0.secondsBehind)]
        }
        let tenants = try TenantStore(db: db).countsByStatus()
        let commands = try GovernanceCommandStore(db: db).attentionCounts()
        var data: [String: Any] = [
            "trialsWaiting": waiting, "outboxes": outboxes, "regions": regions,
            "tenants": tenants.map { ["status": $0.status, "count": $0.count, "failed": $0.status == TenantStatus.provisioningFailed.rawValue] },
            "failedCommands": commands.failed, "unacknowledgedCommands": commands.unacknowledged,
            "staleNodes": try NodeStore(db: db).staleCount(graceSeconds: context.settings.nodeStaleSeconds),
            "reconnects": context.metrics.databaseReconnects.load(ordering: .relaxed),
        ]
        if let stats = context.metrics.serverStats {
            let busy = stats.inFlightCount
            data["workers"] = ["threads": stats.threadCount, "busy": busy, "idle": max(0, stats.threadCount - busy),
                               "slow": stats.slowRequestCount]
        }
        return Console.page("overview", title: "Overview", viewer: viewer, data: data, active: "overview", refreshSeconds: 30)
    }
}
