import ControlPlaneCore
import Foundation
import Postgres
import ServiceLog

/// Runs PENDING admin jobs: SYNC_REGION sweeps the region now; RECOVER_ENVIRONMENT issues a
/// REIMAGE_NODE command for each of the region's nodes that is NOT_READY or stale.
struct AdminJobRunner {
    let db: PostgresConnection
    let sweeper: RegistrySweeper
    let configuration: SyncConfiguration
    let logger: Logger

    /// Runs jobs until none is pending or the run's budget or deadline is spent; a job
    /// under way when the deadline passes finishes (a sweep within its region's budget).
    func run(_ shared: DeliveryRun) throws -> DeliverySummary {
        let jobs = AdminJobStore(db: db)
        var summary = DeliverySummary()
        while shared.takeOne(), let job = try jobs.claimNext(leaseSeconds: configuration.adminJobLeaseSeconds) {
            let (status, result) = execute(job)
            if try jobs.finish(job.id, status: status, resultJSON: result) {
                logger.info("admin job finished", ["adminJob": .string(job.id), "kind": .string(job.kind), "status": .string(status)])
            } else {
                logger.warning("admin job outcome dropped: its lease was given up meanwhile (runner lost)",
                               ["adminJob": .string(job.id), "kind": .string(job.kind), "status": .string(status)])
            }
            summary.count(status == "SUCCEEDED" ? .delivered : .gaveUp)
        }
        return summary
    }

    /// Keeps the job's lease ahead of the work; a failure here only costs the lease (the
    /// health sweep then gives the job up), never the job's own work.
    private func renewLease(_ id: String) {
        do {
            if try !AdminJobStore(db: db).renewLease(id, seconds: configuration.adminJobLeaseSeconds) {
                logger.warning("admin job lease not renewed: no longer RUNNING", ["adminJob": .string(id)])
            }
        } catch {
            logger.warning("admin job lease not renewed", ["adminJob": .string(id), "error": .string("\(error)")])
        }
    }

    private func execute(_ job: AdminJobStore.Row) -> (String, String) {
        do {
            switch job.kind {
            case "SYNC_REGION":
                guard let region = try RegionStore(db: db).sweepTargets(only: job.region).first else {
                    return ("FAILED", #"{"error":"region missing or disabled"}"#)
                }
                switch try sweeper.sweep(region, trigger: "admin_job", traceId: job.traceId, heartbeat: { renewLease(job.id) }) {
                case .skipped:
                    return ("FAILED", #"{"error":"another sweep holds the region; retry"}"#)
                case .swept(let outcome, let pages, let records, let revisions, _, let error):
                    var json = JSONWriter()
                    json.beginObject()
                    json.key("outcome"); json.string(outcome.rawValue)
                    json.key("pages"); json.int(pages)
                    json.key("records"); json.int(records)
                    json.key("revisions"); json.int(revisions)
                    json.key("error"); json.string(error)
                    json.endObject()
                    return (outcome == .ok ? "SUCCEEDED" : "FAILED", String(decoding: json.bytes, as: UTF8.self))
                }
            default:  // RECOVER_ENVIRONMENT
                var issued: [String] = []
                for node in try NodeStore(db: db).unhealthy(region: job.region, graceSeconds: configuration.nodeStaleSeconds) {
                    _ = try db.transaction { _ in
                        try GovernanceCommandStore(db: db).issue(.init(
                            region: job.region, kind: .reimageNode, target: node, paramsJSON: "{}", actor: "admin-job:\(job.id)",
                            reason: "recover environment", idempotencyKey: "admin-job:\(job.id):\(node)"))
                    }
                    issued.append(node)
                }
                var json = JSONWriter()
                json.beginObject()
                json.key("reimageCommands"); json.beginArray(); issued.forEach { json.string($0) }; json.endArray()
                json.endObject()
                return ("SUCCEEDED", String(decoding: json.bytes, as: UTF8.self))
            }
        } catch {
            return ("FAILED", #"{"error":"the job failed; see the sync's log"}"#)
        }
    }
}
