import Foundation
import Postgres
import Synchronization

/// What the workers draining one outbox share: the message budget and the destinations
/// (webhook endpoints, regions) being called now. Claims are serialized in the process (a
/// claim is one short query), so a worker never picks a destination another worker has
/// just taken: a slow destination holds one worker, and its messages go out in order.
final class DeliveryRun: @unchecked Sendable {
    private let remaining: Atomic<Int>
    private let lock = NSLock()
    private var calling: Set<String> = []  // guarded by lock

    init(maxMessages: Int) { remaining = Atomic(maxMessages) }

    /// False once the run's budget is spent.
    func takeOne() -> Bool { remaining.wrappingSubtract(1, ordering: .relaxed).newValue >= 0 }

    /// One worker's loop: deliver until nothing is due (nil) or the run's budget is spent.
    func drain(_ deliverOne: () throws -> DeliveryOutcome?) rethrows -> DeliverySummary {
        var summary = DeliverySummary()
        while takeOne() {
            guard let outcome = try deliverOne() else { break }
            summary.count(outcome)
        }
        return summary
    }

    /// Runs `claim` with the destinations being called (for it to skip); the destination of
    /// what it returns counts as called until `endCalling`.
    func claim<T>(_ claim: ([String]) throws -> T?, destination: (T) -> String) throws -> T? {
        lock.lock()
        defer { lock.unlock() }
        let claimed = try claim(Array(calling))
        if let claimed { calling.insert(destination(claimed)) }
        return claimed
    }

    func endCalling(_ destination: String) {
        lock.lock()
        calling.remove(destination)
        lock.unlock()
    }

    /// `workers` bodies on their own threads, each with its own connection, until the outbox
    /// has nothing due or the budget is spent; their summaries added up.
    func deliver(workers: Int, connect: () throws -> PostgresConnection,
                 worker: @escaping @Sendable (PostgresConnection) throws -> DeliverySummary) throws -> DeliverySummary {
        try runWorkers(workers, connect: connect, body: worker).reduce(DeliverySummary(), +)
    }
}
