import Foundation
import Postgres
import Synchronization

/// What the workers draining one outbox share: its message budget and its deadline. Which
/// destination a worker may call is settled in the database (each store's `claimNext`
/// holds the endpoint or region for the delivery's transaction), so it holds for workers in
/// any number of processes and hosts alike.
final class DeliveryRun: Sendable {
    let outbox: String
    let workers: Int
    private let remaining: Atomic<Int>
    private let deadline: ContinuousClock.Instant

    /// `seconds` after which no new message is claimed; a delivery under way ends by its own
    /// request deadline.
    init(outbox: String, workers: Int, maxMessages: Int, seconds: Double) {
        self.outbox = outbox
        self.workers = workers
        remaining = Atomic(maxMessages)
        deadline = .now + .milliseconds(Int64(seconds * 1000))
    }

    /// False once the budget is spent or the deadline has passed.
    func takeOne() -> Bool {
        ContinuousClock.now < deadline && remaining.wrappingSubtract(1, ordering: .relaxed).newValue >= 0
    }

    /// One worker's loop: deliver until nothing is due (nil), the budget is spent or the
    /// deadline passes.
    func drain(_ deliverOne: () throws -> DeliveryOutcome?) rethrows -> DeliverySummary {
        var summary = DeliverySummary()
        while takeOne() {
            guard let outcome = try deliverOne() else { break }
            summary.count(outcome)
        }
        return summary
    }
}
