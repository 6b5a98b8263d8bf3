import Locking
import Synchronization

/// Counters an operator reads from the status view and metrics (php-fpm's status page).
public final class ServerStats: Sendable {
    public let startedAt = MonotonicClock.nanoseconds()
    public let threadCount: Int
    let accepted = Atomic<Int>(0)
    let inFlight = Atomic<Int>(0)
    let slowRequests = Atomic<Int>(0)
    let maxInFlight = Atomic<Int>(0)

    /// The requests being answered now, by slot (for the slow-while-running log).
    private let running = Lock<[Int: RunningRequest]>([:])

    public struct RunningRequest: Sendable {
        public let startedAt: UInt64, traceId: String, method: String, path: String
        var reported = false
    }

    init(threadCount: Int) { self.threadCount = threadCount }

    /// Requests answered (accepted and no longer in flight).
    public var completedCount: Int { acceptedCount - inFlightCount }

    func track(slot: Int, _ request: Request) {
        running.withLock { $0[slot] = RunningRequest(startedAt: request.receivedAt, traceId: request.traceId, method: request.method,
                                                        path: request.path) }
    }

    func untrack(slot: Int) { _ = running.withLock { $0.removeValue(forKey: slot) } }

    /// Requests running longer than `milliseconds` not reported before: each is returned once.
    func newlySlow(milliseconds: Int, now: UInt64) -> [RunningRequest] {
        running.withLock { running in
            var slow: [RunningRequest] = []
            for (slot, request) in running where !request.reported && now &- request.startedAt >= UInt64(milliseconds) * 1_000_000 {
                running[slot]?.reported = true
                slow.append(request)
            }
            return slow
        }
    }

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
