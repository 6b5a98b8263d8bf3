import ControlPlaneCore
import Foundation
import Postgres
import ServiceLog
import Curl

/// Drains `webhook_outbox`: one message per transaction, claimed with
/// `FOR UPDATE SKIP LOCKED` so runs on several hosts never send one twice; signed per
/// Standard Webhooks; every attempt logged; retried on the schedule, then dead-lettered.
/// Several deliverers share a `DeliveryRun`, each on its own thread and connection; an
/// endpoint is called by one of them at a time, on any host (`claimNext`), so an endpoint
/// that hangs until the timeout holds one worker, never the whole run.
struct WebhookDeliverer {
    let db: PostgresConnection
    let logger: Logger
    let retrySchedule: RetrySchedule
    let timeoutSeconds: Double
    /// Opens the endpoints' sealed signing secrets.
    let secretKeys: SecretKeyRing?
    /// Checked again at every delivery, after resolving the name; the transfer connects to
    /// the address that passed.
    let destinations: WebhookDestinationPolicy
    let shared: DeliveryRun

    func run() throws -> DeliverySummary { try shared.drain(deliverOne) }

    private func deliverOne() throws -> DeliveryOutcome? {
        try db.transaction { db in
            let outbox = WebhookOutboxStore(db: db)
            guard let message = try outbox.claimNext() else { return nil }
            let attempt = message.attempts + 1
            if message.endpointGone {
                try outbox.markDead(message.id, attempts: nil, error: "endpoint removed or disabled")
                return .gaveUp
            }
            guard let secret = message.signingSecret(secretKeys) else {
                // Sealed under a key this run does not hold: nothing can be signed, so nothing is sent.
                try outbox.markDead(message.id, attempts: nil, error: "endpoint secret cannot be opened with the configured keys")
                return .gaveUp
            }
            guard let key = StandardWebhooks.key(fromSecret: secret) else {
                try outbox.markDead(message.id, attempts: nil, error: "endpoint secret unusable")
                return .gaveUp
            }
            let timestamp = Int(Date().timeIntervalSince1970)
            let body = Array(message.payload.utf8)
            let result: HTTPTransfer.Result
            switch destinations.check(message.url) {
            case .failure(let refusal):
                // Not called at all: the attempt says which rule refused it, nothing of the network.
                result = HTTPTransfer.Result(error: "the receiver's address is not allowed: \(refusal.reason)")
            case .success(let destination):
                result = HTTPTransfer.send(method: "POST", url: message.url, headers: [
                    ("content-type", "application/json"),
                    ("user-agent", "controlplane-webhooks/1"),
                    ("webhook-id", message.messageId),
                    ("webhook-timestamp", String(timestamp)),
                    ("webhook-signature", StandardWebhooks.signature(key: key, id: message.messageId, timestamp: timestamp, body: body)),
                ], body: body, timeoutSeconds: timeoutSeconds,
                pinnedAddresses: (destination.host, destination.port, destination.addresses))
            }

            let error = result.error ?? (result.status.map { (200..<300).contains($0) ? nil : "HTTP \($0)" } ?? "no response")
            try WebhookDeliveryAttemptStore(db: db).record(outboxId: message.id, attempt: attempt, statusCode: result.status,
                                                           error: error, durationMs: result.durationMs)
            let outcome: DeliveryOutcome
            if let status = result.status, (200..<300).contains(status) {
                try outbox.markDelivered(message.id, attempts: attempt)
                outcome = .delivered
            } else if result.status == 410 {
                // Gone: the receiver asks never to be called again.
                try WebhookEndpointStore(db: db).disable(message.endpointId)
                try outbox.markDead(message.id, attempts: attempt, error: error ?? "HTTP 410")
                outcome = .gaveUp
            } else if var delay = retrySchedule.delay(afterAttempt: attempt) {
                if let retryAfter = result.headers["retry-after"].flatMap(Double.init), [429, 503].contains(result.status ?? 0) {
                    delay = max(delay, min(retryAfter, 86_400))
                }
                try outbox.reschedule(message.id, attempts: attempt, error: error ?? "", afterSeconds: delay)
                outcome = .rescheduled
            } else {
                try outbox.markDead(message.id, attempts: attempt, error: error ?? "")
                outcome = .gaveUp
            }
            logger.info("webhook attempt", ["messageId": .string(message.messageId), "attempt": .int(attempt),
                                            "status": .int(result.status ?? 0), "durationMs": .int(result.durationMs),
                                            "outcome": .string(outcome.rawValue)])
            return outcome
        }
    }
}
