import ControlPlane
import Foundation
import Postgres
import ServiceLog

/// Delivers PENDING governance commands to their region's `POST /v1/registry/commands`
/// with a fresh JWT (scope `registry:commands:write`). The registry applies a commandId
/// once, so a retry after an unknown outcome is safe. One command per transaction,
/// claimed with FOR UPDATE SKIP LOCKED. Workers share a `DeliveryRun`: a region's commands
/// go out one at a time and in order, and a region whose registry hangs holds one worker.
struct CommandDeliverer {
    let db: PostgresConnection
    let configuration: SyncConfiguration
    let http: HTTPClient
    let logger: Logger
    let shared: DeliveryRun
    /// Seconds before the 2nd, 3rd, … attempt; FAILED after the last.
    static let schedule: [Double] = [5, 30, 120, 600, 1800, 3600]
    var retrySchedule = CommandDeliverer.schedule

    struct Summary {
        var delivered = 0, rescheduled = 0, failed = 0

        static func + (a: Summary, b: Summary) -> Summary {
            Summary(delivered: a.delivered + b.delivered, rescheduled: a.rescheduled + b.rescheduled, failed: a.failed + b.failed)
        }
    }

    func run() throws -> Summary {
        var summary = Summary()
        while shared.takeOne() {
            guard let outcome = try deliverOne() else { break }
            switch outcome {
            case "DELIVERED": summary.delivered += 1
            case "FAILED": summary.failed += 1
            default: summary.rescheduled += 1
            }
        }
        return summary
    }

    private func deliverOne() throws -> String? {
        try db.transaction { db in
            let claimed = try shared.claim { beingCalled -> (PostgresRows, String?) in
                let rows = try db.query("""
                    SELECT c.id::text, c.region_id, c.kind, c.target, c.params::text, c.issued_at, c.attempts, r.base_url, r.requests_per_second
                    FROM governance_commands c JOIN regions r ON r.id = c.region_id
                    WHERE c.status = 'PENDING' AND c.next_attempt_at <= now()
                      AND c.region_id <> ALL (string_to_array(\(beingCalled), ','))
                    ORDER BY c.next_attempt_at, c.issued_at LIMIT 1 FOR UPDATE OF c SKIP LOCKED
                    """)
                return (rows, rows.count == 1 ? try rows.decode(0, 1, as: String.self) : nil)
            }
            let rows = claimed.0
            guard rows.count == 1, let region = claimed.1 else { return nil }
            defer { shared.endCalling(region) }
            let id = try rows.decode(0, 0, as: String.self)
            let attempt = try rows.decode(0, 6, as: Int.self) + 1
            var body = JSONWriter()
            body.beginObject()
            body.key("commandId"); body.string(id)
            body.key("kind"); rows.withBytes(0, 2) { body.string(utf8: $0) }
            body.key("target"); rows.withBytes(0, 3) { body.string(utf8: $0) }
            body.key("params"); rows.withBytes(0, 4) { body.raw(Array($0!)) }
            body.key("issuedAt"); rows.withBytes(0, 5) { body.timestamp(postgresText: $0) }
            body.endObject()
            let client = RegistryClient(region: region, baseURL: try rows.decode(0, 7), requestsPerSecond: 0,
                                        configuration: configuration, http: http)
            var status = "DELIVERED", error: String?
            do {
                _ = try client.send(method: "POST", path: "/v1/registry/commands", body: Data(body.bytes), scope: "registry:commands:write")
            } catch let failure as RegistryClient.Failure {
                error = failure.description
                if case .status(let code, _) = failure, (400..<500).contains(code), code != 408, code != 429 {
                    status = "FAILED"  // the registry refuses it: retrying cannot help
                } else {
                    status = attempt > retrySchedule.count ? "FAILED" : "PENDING"
                }
            }
            let delay = attempt <= retrySchedule.count ? retrySchedule[attempt - 1] * Double.random(in: 0.9...1.1) : 0
            try db.query("""
                UPDATE governance_commands SET status = \(status), attempts = \(attempt), last_error = \(error),
                       delivered_at = CASE WHEN \(status) = 'DELIVERED' THEN now() ELSE delivered_at END,
                       next_attempt_at = now() + make_interval(secs => \(delay))
                WHERE id = \(id)::uuid
                """)
            if status != "PENDING" {
                try GovernanceCommandStore(db: db).recordEvent(id: id, from: "PENDING", to: status, actor: "controlplane-sync",
                                                               detail: error ?? "registry accepted the command")
            }
            logger.info("command delivery", ["commandId": .string(id), "region": .string(region), "attempt": .int(attempt),
                                             "status": .string(status), "error": .string(error ?? "")])
            return status
        }
    }
}
