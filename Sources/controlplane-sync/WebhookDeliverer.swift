import ControlPlaneCore
import Foundation
import Postgres
import ServiceLog
import Curl

/// Drains `webhook_outbox`: one message per transaction, claimed with
/// `FOR UPDATE SKIP LOCKED` so runs on several hosts never send one twice; signed per
/// Standard Webhooks; every attempt logged. The endpoint is the unit of failure: a failed
/// attempt postpones the endpoint's whole backlog to its next retry (one probe per interval,
/// in order); a message that used up the schedule, or fell off a backlog over its cap, is
/// dead-lettered with a `webhook.message.exhausted` event; an endpoint failing for too long
/// is disabled with a `webhook.endpoint.disabled` event.
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
    /// Receivers' certificates are checked against this bundle instead of the system's
    /// (`CONTROLPLANE_WEBHOOK_CA_FILE`: receivers inside the network, under a private CA).
    let caFile: String?
    let shared: DeliveryRun
    /// An endpoint keeps at most this many pending messages; older ones are dead-lettered.
    let maxPendingPerEndpoint: Int
    /// An endpoint failing for longer than this is disabled, with an event.
    let disableAfterSeconds: Double
    /// After a secret rotation, deliveries carry a signature with the previous secret too for this long.
    let secretOverlapSeconds: Double

    func run() throws -> DeliverySummary { try shared.drain(deliverOne) }

    private func deliverOne() throws -> DeliveryOutcome? {
        try db.transaction { db in
            let outbox = WebhookOutboxStore(db: db), endpoints = WebhookEndpointStore(db: db)
            guard let message = try outbox.claimNext() else { return nil }
            let attempt = message.attempts + 1
            if message.endpointGone {
                let dropped = try outbox.deadLetterAll(endpointId: message.endpointId, error: "endpoint removed or disabled")
                logger.info("webhook endpoint gone: its backlog is dead-lettered", ["endpointId": .string(message.endpointId), "messages": .int(dropped)])
                return .gaveUp
            }
            let dropped = try outbox.deadLetterBeyond(endpointId: message.endpointId, keep: maxPendingPerEndpoint)
            if !dropped.isEmpty {
                try announceExhausted(outbox, endpointId: message.endpointId, messageIds: dropped, reason: "backlog_cap")
                logger.warning("webhook backlog over its cap: oldest messages dead-lettered",
                               ["endpointId": .string(message.endpointId), "messages": .int(dropped.count), "cap": .int(maxPendingPerEndpoint)])
                if dropped.contains(message.messageId) { return .gaveUp }  // the claimed one was among them; the next claim takes the new oldest
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
                    ("webhook-signature", signatures(message, key: key, timestamp: timestamp, body: body)),
                    // The trace of the request that caused the message; messages the sync made itself carry a new one.
                    ("traceparent", TraceContext.traceparent(traceId: message.traceId ?? TraceContext.newTraceId())),
                ], body: body, timeoutSeconds: timeoutSeconds,
                pinnedAddresses: (destination.host, destination.port, destination.addresses), caFile: caFile)
            }

            let error = result.error ?? (result.status.map { (200..<300).contains($0) ? nil : "HTTP \($0)" } ?? "no response")
            try WebhookDeliveryAttemptStore(db: db).record(outboxId: message.id, attempt: attempt, statusCode: result.status,
                                                           error: error, durationMs: result.durationMs)
            let outcome: DeliveryOutcome
            if let status = result.status, (200..<300).contains(status) {
                try outbox.markDelivered(message.id, attempts: attempt)
                try endpoints.recordSuccess(message.endpointId)  // healthy again: the backlog drains in order
                outcome = .delivered
            } else if result.status == 410 {
                // Gone: the receiver asks never to be called again.
                try outbox.markDead(message.id, attempts: attempt, error: error ?? "HTTP 410")
                try disable(endpoints, outbox, message: message, reason: "the receiver answered 410 Gone")
                outcome = .gaveUp
            } else {
                // The endpoint is the unit of failure: its whole backlog waits for the next probe.
                var delay = retrySchedule.delay(afterFailures: message.endpointFailures + 1)
                if let retryAfter = result.headers["retry-after"].flatMap(Double.init), [429, 503].contains(result.status ?? 0) {
                    delay = max(delay, min(retryAfter, 86_400))
                }
                let failing = try endpoints.recordFailure(message.endpointId, delaySeconds: delay)
                if retrySchedule.delay(afterAttempt: attempt) == nil {
                    try outbox.markDead(message.id, attempts: attempt, error: error ?? "")
                    try announceExhausted(outbox, endpointId: message.endpointId, messageIds: [message.messageId], reason: "attempts_exhausted")
                    outcome = .gaveUp
                } else {
                    try outbox.recordFailedAttempt(message.id, attempts: attempt, error: error ?? "")
                    outcome = .rescheduled
                }
                if failing.failingSeconds > disableAfterSeconds {
                    try disable(endpoints, outbox, message: message,
                                reason: "failing for more than \(Int(disableAfterSeconds)) s (\(failing.failures) attempts in a row)")
                }
            }
            logger.info("webhook attempt", ["messageId": .string(message.messageId), "attempt": .int(attempt),
                                            "status": .int(result.status ?? 0), "durationMs": .int(result.durationMs),
                                            "outcome": .string(outcome.rawValue)])
            return outcome
        }
    }

    /// `v1,<previous> v1,<current>` during a rotation's overlap (Standard Webhooks lists several
    /// signatures, space-separated; a receiver accepts the one it can check), else `v1,<current>`.
    private func signatures(_ message: WebhookOutboxStore.Due, key: [UInt8], timestamp: Int, body: [UInt8]) -> String {
        let current = StandardWebhooks.signature(key: key, id: message.messageId, timestamp: timestamp, body: body)
        guard let previous = message.previousSigningSecret(secretKeys, overlapSeconds: secretOverlapSeconds),
              let previousKey = StandardWebhooks.key(fromSecret: previous) else { return current }
        return StandardWebhooks.signature(key: previousKey, id: message.messageId, timestamp: timestamp, body: body) + " " + current
    }

    /// Disables the endpoint and tells the endpoints subscribed to `webhook.endpoint.disabled`.
    private func disable(_ endpoints: WebhookEndpointStore, _ outbox: WebhookOutboxStore, message: WebhookOutboxStore.Due,
                         reason: String) throws {
        guard try endpoints.disable(message.endpointId, reason: reason) else { return }
        let dropped = try outbox.deadLetterAll(endpointId: message.endpointId, error: "endpoint disabled: \(reason)")
        var data = JSONWriter()
        data.beginObject()
        data.key("endpointId"); data.string(message.endpointId)
        data.key("url"); data.string(message.url)
        data.key("reason"); data.string(reason)
        data.endObject()
        try outbox.enqueueOperational(event: WebhookOperationalEvents.endpointDisabled, about: message.endpointId, data: data.bytes)
        logger.warning("webhook endpoint disabled", ["endpointId": .string(message.endpointId), "reason": .string(reason),
                                                      "backlogDropped": .int(dropped)])
    }

    /// Tells the endpoints subscribed to `webhook.message.exhausted` which messages will not be delivered.
    private func announceExhausted(_ outbox: WebhookOutboxStore, endpointId: String, messageIds: [String], reason: String) throws {
        var data = JSONWriter()
        data.beginObject()
        data.key("endpointId"); data.string(endpointId)
        data.key("reason"); data.string(reason)
        data.key("count"); data.int(messageIds.count)
        data.key("messageIds"); data.beginArray(); messageIds.prefix(100).forEach { data.string($0) }; data.endArray()
        data.endObject()
        try outbox.enqueueOperational(event: WebhookOperationalEvents.messageExhausted, about: endpointId, data: data.bytes)
    }
}
