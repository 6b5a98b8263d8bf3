import Foundation

/// Work started on its own thread now and waited for later: the sweeper fetches the next
/// registry page while PostgreSQL ingests the current one. Whoever calls `wait()` sees
/// everything the work did (the semaphore orders it), so a non-thread-safe object used by the
/// work (the registry client) is used by one thread at a time as long as the caller waits
/// before touching it again.
final class Prefetch<Value>: @unchecked Sendable {  // `result` is written before the signal, read after the wait
    private var result: Result<Value, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping () throws -> Value) {
        nonisolated(unsafe) let work = work  // runs on the new thread only; see the type's comment
        let thread = Thread { [self] in
            result = Result { try work() }
            done.signal()
        }
        thread.name = "prefetch"
        thread.start()
    }

    /// Blocks until the work has finished; its value, or what it threw. Call once.
    func wait() -> Result<Value, Error> {
        done.wait()
        return result!
    }
}
