import ControlPlane
import Foundation
import Mail
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
    static let schedule: [Double] = [10, 60, 300, 1800]

    struct Summary { var sent = 0, rescheduled = 0, dead = 0, superseded = 0 }

    func run(max: Int) throws -> Summary {
        var summary = Summary()
        for _ in 0..<max {
            guard let outcome = try sendOne() else { break }
            switch outcome {
            case "sent": summary.sent += 1
            case "dead": summary.dead += 1
            case "superseded": summary.superseded += 1
            default: summary.rescheduled += 1
            }
        }
        return summary
    }

    private func sendOne() throws -> String? {
        try db.transaction { db in
            let rows = try db.query("""
                SELECT o.id, o.to_address, o.draft_id::text, o.otp_generation, o.attempts, d.otp_generation, d.status
                FROM email_outbox o JOIN trial_drafts d ON d.id = o.draft_id
                WHERE o.status = 'pending' AND o.next_attempt_at <= now()
                ORDER BY o.next_attempt_at, o.id LIMIT 1
                FOR UPDATE OF o, d SKIP LOCKED
                """)
            guard rows.count == 1 else { return nil }
            let id = try rows.decode(0, 0, as: Int64.self)
            let to = try rows.decode(0, 1, as: String.self)
            let draftId = try rows.decode(0, 2, as: String.self)
            let generation = try rows.decode(0, 3, as: Int.self)
            let attempt = try rows.decode(0, 4, as: Int.self) + 1
            guard generation == (try rows.decode(0, 5, as: Int.self)), try rows.decode(0, 6, as: String.self) == "draft" else {
                try db.query("UPDATE email_outbox SET status = 'superseded' WHERE id = \(id)")
                return "superseded"
            }
            let code = OneTimeCode.generate(digits: trial.codeDigits)
            let minutes = trial.codeLifetimeSeconds / 60
            let message = MailMessage.plainText(
                from: from, to: to, subject: "Your verification code",
                body: """
                    Your verification code is \(code).

                    Enter it where you asked for it. It expires in \(minutes) minutes and works once.
                    If you did not ask for a code, ignore this message.
                    """)
            var status = "sent", error: String?
            do {
                try smtp.send(from: from, to: to, message: message)
            } catch let failure as SMTPClient.Failure {
                error = failure.description
                status = failure.permanent || attempt > Self.schedule.count ? "dead" : "pending"
            }
            if status == "sent" {
                try db.query("""
                    UPDATE trial_drafts SET otp_hash = \(OneTimeCode.hash(code: code, draftId: draftId, generation: generation, key: hashKey)),
                           otp_expires_at = now() + make_interval(secs => \(trial.codeLifetimeSeconds)), otp_attempts = 0
                    WHERE id = \(draftId)::uuid
                    """)
            }
            let delay = attempt <= Self.schedule.count ? Self.schedule[attempt - 1] : 0
            try db.query("""
                UPDATE email_outbox SET status = \(status), attempts = \(attempt), last_error = \(error),
                       sent_at = CASE WHEN \(status) = 'sent' THEN now() ELSE sent_at END,
                       next_attempt_at = now() + make_interval(secs => \(delay))
                WHERE id = \(id)
                """)
            logger.info("email delivery", ["outboxId": .int(Int(id)), "attempt": .int(attempt), "status": .string(status),
                                           "error": .string(error ?? "")])
            return status
        }
    }
}

/// An RFC 5322 plain-text message (UTF-8, 8bit).
enum MailMessage {
    static func plainText(from: String, to: String, subject: String, body: String) -> [UInt8] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        let lines = [
            "From: \(from)", "To: \(to)", "Subject: \(subject)", "Date: \(formatter.string(from: Date()))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "Auto-Submitted: auto-generated", "",
        ] + body.components(separatedBy: "\n")
        return Array(lines.joined(separator: "\r\n").utf8) + [13, 10]
    }
}
