import ControlPlaneCore
import Foundation
import Curl
import Postgres
import ServiceLog

/// Drains `email_outbox` over SMTP. For a work-email code it makes the code itself, here,
/// at send time: the code exists only in this process and in the email; the draft keeps its
/// keyed hash. A request superseded by a newer one is not sent.
struct EmailDeliverer {
    let db: PostgresConnection
    let smtp: SMTPClient
    let from: String
    let hashKey: [UInt8]
    let trial: TrialSettings
    let logger: Logger
    let shared: DeliveryRun
    var retrySchedule = RetrySchedule.emails

    func run() throws -> DeliverySummary { try shared.drain(sendOne) }

    private func sendOne() throws -> DeliveryOutcome? {
        try db.transaction { db in
            let outbox = EmailOutboxStore(db: db)
            guard let message = try outbox.claimNext() else { return nil }
            let attempt = message.attempts + 1
            guard message.generation == message.draftGeneration, message.draftStatus == "draft" else {
                try outbox.markSuperseded(message.id)
                return .superseded
            }
            let code = OneTimeCode.generate(digits: trial.codeDigits)
            let minutes = trial.codeLifetimeSeconds / 60
            let mail = MailMessage.plainText(
                from: from, to: message.toAddress, subject: "Your verification code",
                traceparent: TraceContext.traceparent(traceId: message.traceId ?? TraceContext.newTraceId()),
                body: """
                    Your verification code is \(code).

                    Enter it where you asked for it. It expires in \(minutes) minutes and works once.
                    If you did not ask for a code, ignore this message.
                    """)
            var outcome = DeliveryOutcome.delivered, error: String?, delay = 0.0
            do {
                try smtp.send(from: from, to: message.toAddress, message: mail)
            } catch let failure as SMTPClient.Failure {
                error = failure.description
                if !failure.permanent, let wait = retrySchedule.delay(afterAttempt: attempt) {
                    outcome = .rescheduled
                    delay = wait
                } else {
                    outcome = .gaveUp
                }
            }
            if outcome == .delivered {
                try TrialDraftStore(db: db).setCode(message.draftId,
                                                    hash: OneTimeCode.hash(code: code, draftId: message.draftId,
                                                                           generation: message.generation, key: hashKey),
                                                    lifetimeSeconds: trial.codeLifetimeSeconds)
            }
            let status = switch outcome { case .delivered: "sent"; case .rescheduled: "pending"; default: "dead" }
            try outbox.finish(message.id, status: status, attempts: attempt, error: error, retryAfterSeconds: delay)
            logger.info("email delivery", ["outboxId": .int(Int(message.id)), "attempt": .int(attempt), "status": .string(status),
                                           "error": .string(error ?? "")])
            return outcome
        }
    }
}

/// An RFC 5322 plain-text message (UTF-8, 8bit).
enum MailMessage {
    static func plainText(from: String, to: String, subject: String, traceparent: String? = nil, body: String) -> [UInt8] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        let lines = [
            "From: \(from)", "To: \(to)", "Subject: \(subject)", "Date: \(formatter.string(from: Date()))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "Auto-Submitted: auto-generated",
        ] + (traceparent.map { ["Traceparent: \($0)"] } ?? []) + [""] + body.components(separatedBy: "\n")
        return Array(lines.joined(separator: "\r\n").utf8) + [13, 10]
    }
}
