import Synchronization

/// Counters an operator reads from the status view and metrics (php-fpm's status page).
public final class ServerStats: Sendable {
    public let startedAt = MonotonicClock.nanoseconds()
    public let threadCount: Int
    let accepted = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    let slowRequests = Atomic<Int>(0)
    let maxInFlight = Atomic<Int>(0)

    init(threadCount: Int) { self.threadCount = threadCount }

    public var acceptedCount: Int { accepted.load(ordering: .relaxed) }
    public var inFlightCount: Int { inFlight.load(ordering: .relaxed) }
    public var slowRequestCount: Int { slowRequests.load(ordering: .relaxed) }
    public var maxInFlightCount: Int { maxInFlight.load(ordering: .relaxed) }

    func begin() {
        accepted.add(1, ordering: .relaxed)
        let now = inFlight.add(1, ordering: .relaxed).newValue
        var seen = maxInFlight.load(ordering: .relaxed)
        while now > seen {
            let (exchanged, original) = maxInFlight.compareExchange(expected: seen, desired: now, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }

    func end(slow: Bool) {
        inFlight.subtract(1, ordering: .relaxed)
        if slow { slowRequests.add(1, ordering: .relaxed) }
    }
}
