import ControlPlaneCore
import Foundation
import Postgres
import ServiceLog

/// Marks nodes whose heartbeat is older than the grace as stale, and regions whose last
/// good sweep is too old as DEGRADED (through the rules, so routing follows).
struct HealthSweeper {
    let db: PostgresConnection
    let configuration: SyncConfiguration
    let logger: Logger

    /// Work nobody will finish: admin jobs whose runner died, commands never acknowledged,
    /// tenants stuck provisioning. Each release is audited in its own transaction, as the
    /// rule that made it (`rule:admin-job-lease`, `rule:command-ack-timeout`,
    /// `rule:provisioning-timeout`).
    func releaseStuckWork() throws -> (lostRunners: Int, unacknowledged: Int, provisioningTimeouts: Int) {
        let lost = try db.transaction { db in
            let ids = try AdminJobStore(db: db).failLostRunners()
            for id in ids {
                try AuditLogStore(db: db).record(.init(actor: "rule:admin-job-lease", traceId: nil, action: "admin_job.fail",
                                                       target: "admin_job:\(id)", summary: "runner lost: lease expired"))
            }
            return ids
        }
        for id in lost { logger.warning("admin job failed: runner lost", ["adminJob": .string(id)]) }
        let unacknowledged = try db.transaction { db in
            let ids = try GovernanceCommandStore(db: db).markUnacknowledged(olderThanSeconds: configuration.commandAckSeconds)
            for id in ids {
                try AuditLogStore(db: db).record(.init(actor: "rule:command-ack-timeout", traceId: nil, action: "command.unacknowledged",
                                                       target: "command:\(id)", summary: "no acknowledgement within \(configuration.commandAckSeconds) s; delivering again"))
            }
            return ids
        }
        for id in unacknowledged { logger.warning("command unacknowledged: delivering again", ["commandId": .string(id)]) }
        let stuck = try TenantStore(db: db).stuckProvisioning(olderThanSeconds: configuration.provisioningTimeoutSeconds)
        let tenants = TenantService(db: db, actor: "rule:provisioning-timeout")
        var timedOut = 0
        for id in stuck {
            do {
                _ = try tenants.perform(.siteFailed, on: id, reason: "timeout")
                timedOut += 1
                logger.warning("tenant provisioning timed out", ["tenantId": .string(id)])
            } catch TenantFailure.illegalTransition {
                continue  // moved on meanwhile (a callback arrived)
            }
        }
        return (lost.count, unacknowledged.count, timedOut)
    }

    func run() throws -> (staleNodes: Int, staleRegions: Int) {
        let marked = try NodeStore(db: db).markStale(graceSeconds: configuration.nodeStaleSeconds)
        let regions = try RegionStore(db: db).staleRegions(olderThanSeconds: configuration.regionStaleSeconds)
        for (id, since) in regions {
            let firings = try GovernanceRules(db: db, settings: configuration.rules)
                .evaluate(region: id, sweep: .stale, sweepDetail: "no good sweep since \(since)")
            for firing in firings { logger.info("rule fired", ["region": .string(id), "rule": .string(firing.rule), "detail": .string(firing.detail)]) }
        }
        return (marked, regions.count)
    }
}
