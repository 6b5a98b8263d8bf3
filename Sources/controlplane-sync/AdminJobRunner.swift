import ControlPlane
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

    func run(max: Int) throws -> Int {
        var done = 0
        while done < max, let job = try claim() {
            let (status, result) = execute(job)
            try db.query("""
                UPDATE admin_jobs SET status = \(status), result = \(result)::jsonb, finished_at = now() WHERE id = \(job.id)::uuid
                """)
            logger.info("admin job finished", ["adminJob": .string(job.id), "kind": .string(job.kind), "status": .string(status)])
            done += 1
        }
        return done
    }

    struct Job { let id: String, kind: String, region: String }

    /// Moves one job to RUNNING (committed), so a crash leaves it visibly RUNNING, not re-run twice.
    private func claim() throws -> Job? {
        let rows = try db.query("""
            UPDATE admin_jobs SET status = 'RUNNING', started_at = now()
            WHERE id = (SELECT id FROM admin_jobs WHERE status = 'PENDING' ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id::text, kind, region_id
            """)
        guard rows.count == 1 else { return nil }
        return Job(id: try rows.decode(0, 0), kind: try rows.decode(0, 1), region: try rows.decode(0, 2))
    }

    private func execute(_ job: Job) -> (String, String) {
        do {
            switch job.kind {
            case "SYNC_REGION":
                guard let region = try sweeper.regions(only: job.region).first else {
                    return ("FAILED", #"{"error":"region missing or disabled"}"#)
                }
                switch try sweeper.sweep(region, trigger: "admin_job") {
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
                let grace = configuration.nodeStaleSeconds
                let nodes = try db.query("""
                    SELECT node_id FROM nodes WHERE region_id = \(job.region)
                      AND (readiness = 'NOT_READY' OR last_heartbeat_at < now() - make_interval(secs => \(grace)))
                    ORDER BY node_id
                    """)
                var issued: [String] = []
                for row in 0..<nodes.count {
                    let node = try nodes.decode(row, 0, as: String.self)
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
