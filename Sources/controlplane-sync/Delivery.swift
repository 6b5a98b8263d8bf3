/// Seconds to wait after the 1st, 2nd, … failed attempt of an outbox message, with ±10 %
/// jitter so retries of many messages do not arrive together; spent, the message gives up.
struct RetrySchedule {
    let delays: [Double]

    /// Standard Webhooks' schedule after the immediate first attempt.
    static let webhooks = RetrySchedule(delays: [5, 300, 1800, 7200, 18000, 36000, 36000])
    /// Governance commands: a registry applies a commandId once, so retrying is safe.
    static let commands = RetrySchedule(delays: [5, 30, 120, 600, 1800, 3600])
    static let emails = RetrySchedule(delays: [10, 60, 300, 1800])

    /// The wait before the next attempt, or nil when `attempt` was the last.
    func delay(afterAttempt attempt: Int) -> Double? {
        guard attempt >= 1, attempt <= delays.count else { return nil }
        return delays[attempt - 1] * Double.random(in: 0.9...1.1)
    }

    /// The wait before probing an endpoint again after `failures` failed attempts in a row: the
    /// schedule, then its last step for as long as the endpoint keeps failing.
    func delay(afterFailures failures: Int) -> Double {
        guard let last = delays.last else { return 0 }
        return (failures >= 1 && failures <= delays.count ? delays[failures - 1] : last) * Double.random(in: 0.9...1.1)
    }
}

/// What became of one outbox message in a run.
enum DeliveryOutcome: String {
    case delivered, rescheduled, gaveUp = "gave_up", superseded
}

/// The outcomes of a run (for the run's log line).
struct DeliverySummary: Sendable {
    var delivered = 0, rescheduled = 0, gaveUp = 0, superseded = 0

    mutating func count(_ outcome: DeliveryOutcome) {
        switch outcome {
        case .delivered: delivered += 1
        case .rescheduled: rescheduled += 1
        case .gaveUp: gaveUp += 1
        case .superseded: superseded += 1
        }
    }

    static func + (a: DeliverySummary, b: DeliverySummary) -> DeliverySummary {
        DeliverySummary(delivered: a.delivered + b.delivered, rescheduled: a.rescheduled + b.rescheduled,
                        gaveUp: a.gaveUp + b.gaveUp, superseded: a.superseded + b.superseded)
    }
}
