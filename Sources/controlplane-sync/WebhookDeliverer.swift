import ControlPlane
import Foundation
import Postgres
import ServiceLog

/// Drains `webhook_outbox`: one message per transaction, claimed with
/// `FOR UPDATE SKIP LOCKED` so runs on several hosts never send one twice; signed per
/// Standard Webhooks; every attempt logged; retried on the schedule, then dead-lettered.
/// Several deliverers share a `DeliveryRun`, each on its own thread and connection; a
/// worker skips endpoints another one is calling, so an endpoint that hangs until the
/// timeout holds one worker, never the whole run.
struct WebhookDeliverer {
    let db: PostgresConnection
    let http: HTTPClient
    let logger: Logger
    /// Seconds to wait after the 1st, 2nd, … failed attempt (Standard Webhooks' schedule).
    let retrySchedule: [Double]
    let timeoutSeconds: Double
    let shared: DeliveryRun

    static let defaultSchedule: [Double] = [5, 300, 1800, 7200, 18000, 36000, 36000]

    struct Summary {
        var delivered = 0, failed = 0, dead = 0

        static func + (a: Summary, b: Summary) -> Summary {
            Summary(delivered: a.delivered + b.delivered, failed: a.failed + b.failed, dead: a.dead + b.dead)
        }
    }

    func run() throws -> Summary {
        var summary = Summary()
        while shared.takeOne() {
            guard let outcome = try deliverOne() else { break }
            switch outcome {
            case .delivered: summary.delivered += 1
            case .retry: summary.failed += 1
            case .dead: summary.dead += 1
            }
        }
        return summary
    }

    enum Outcome { case delivered, retry, dead }

    private func deliverOne() throws -> Outcome? {
        try db.transaction { db in
            let claimed = try shared.claim { beingCalled -> (PostgresRows, String?) in
                let rows = try db.query("""
                    SELECT o.id, o.message_id, o.payload, o.attempts, e.url, e.secret, e.id::text,
                           (e.deleted_at IS NOT NULL OR e.disabled_at IS NOT NULL)
                    FROM webhook_outbox o JOIN webhook_endpoints e ON e.id = o.endpoint_id
                    WHERE o.status = 'pending' AND o.next_attempt_at <= now()
                      AND o.endpoint_id <> ALL (string_to_array(\(beingCalled), ',')::uuid[])
                    ORDER BY o.next_attempt_at, o.id
                    LIMIT 1 FOR UPDATE OF o SKIP LOCKED
                    """)
                return (rows, rows.count == 1 ? try rows.decode(0, 6, as: String.self) : nil)
            }
            let rows = claimed.0
            guard rows.count == 1, let endpointId = claimed.1 else { return nil }
            defer { shared.endCalling(endpointId) }
            let id = try rows.decode(0, 0, as: Int64.self)
            let messageId = try rows.decode(0, 1, as: String.self)
            let payload = try rows.decode(0, 2, as: String.self)
            let attempt = try rows.decode(0, 3, as: Int.self) + 1
            if try rows.decode(0, 7, as: Bool.self) {
                try db.query("UPDATE webhook_outbox SET status = 'dead', last_error = 'endpoint removed or disabled' WHERE id = \(id)")
                return .dead
            }
            guard let url = URL(string: try rows.decode(0, 4, as: String.self)),
                  let key = StandardWebhooks.key(fromSecret: try rows.decode(0, 5, as: String.self)) else {
                try db.query("UPDATE webhook_outbox SET status = 'dead', last_error = 'endpoint URL or secret unusable' WHERE id = \(id)")
                return .dead
            }
            let timestamp = Int(Date().timeIntervalSince1970)
            let body = Array(payload.utf8)
            let result = http.send(method: "POST", url: url, headers: [
                ("content-type", "application/json"),
                ("user-agent", "controlplane-webhooks/1"),
                ("webhook-id", messageId),
                ("webhook-timestamp", String(timestamp)),
                ("webhook-signature", StandardWebhooks.signature(key: key, id: messageId, timestamp: timestamp, body: body)),
            ], body: Data(body), timeoutSeconds: timeoutSeconds)

            let error = result.error ?? (result.status.map { (200..<300).contains($0) ? nil : "HTTP \($0)" } ?? "no response")
            try db.query("""
                INSERT INTO webhook_delivery_attempts (outbox_id, attempt, status_code, error, duration_ms)
                VALUES (\(id), \(attempt), \(result.status), \(error), \(result.durationMs))
                """)
            let outcome: Outcome
            if let status = result.status, (200..<300).contains(status) {
                try db.query("UPDATE webhook_outbox SET status = 'delivered', attempts = \(attempt), delivered_at = now(), last_error = NULL WHERE id = \(id)")
                outcome = .delivered
            } else if result.status == 410 {
                // Gone: the receiver asks never to be called again.
                try db.query("UPDATE webhook_endpoints SET disabled_at = now() WHERE id = \(endpointId)::uuid")
                try db.query("UPDATE webhook_outbox SET status = 'dead', attempts = \(attempt), last_error = \(error) WHERE id = \(id)")
                outcome = .dead
            } else if attempt > retrySchedule.count {
                try db.query("UPDATE webhook_outbox SET status = 'dead', attempts = \(attempt), last_error = \(error) WHERE id = \(id)")
                outcome = .dead
            } else {
                var delay = retrySchedule[attempt - 1] * Double.random(in: 0.9...1.1)
                if let retryAfter = result.headers["retry-after"].flatMap(Double.init), [429, 503].contains(result.status ?? 0) {
                    delay = max(delay, min(retryAfter, 86_400))
                }
                try db.query("""
                    UPDATE webhook_outbox SET attempts = \(attempt), last_error = \(error),
                           next_attempt_at = now() + make_interval(secs => \(delay))
                    WHERE id = \(id)
                    """)
                outcome = .retry
            }
            logger.info("webhook attempt", ["messageId": .string(messageId), "attempt": .int(attempt),
                                            "status": .int(result.status ?? 0), "durationMs": .int(result.durationMs),
                                            "outcome": .string("\(outcome)")])
            return outcome
        }
    }
}
