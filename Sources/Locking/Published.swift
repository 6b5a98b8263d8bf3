import Synchronization

/// A value that one writer replaces now and then and every worker reads on each request (the
/// domain dictionary, the tenant directory's snapshot). Each worker keeps a `Reader` — its
/// own copy and the generation it was taken at — and takes the lock only when an atomic
/// generation says the value was replaced since: the hot path shares no lock at all.
public final class Published<Value>: @unchecked Sendable {  // `Value` is only handed out whole, under the lock
    private let lock: Lock<Value>
    private let generation = Atomic<Int>(0)

    public init(_ value: Value) { lock = Lock(value) }

    /// The value now (takes the lock; for writers and rare readers).
    public var value: Value { lock.withLock { $0 } }

    public func publish(_ value: Value) {
        lock.withLock { $0 = value }
        generation.add(1, ordering: .releasing)
    }

    /// One thread's copy; never shared between threads.
    public final class Reader {
        fileprivate var generation = -1
        fileprivate var copy: Value?
        public init() {}
    }

    /// The current value, from `reader`'s copy unless it was replaced since.
    public func read(_ reader: Reader) -> Value {
        let now = generation.load(ordering: .acquiring)
        if now != reader.generation || reader.copy == nil {
            reader.copy = value
            reader.generation = now
        }
        return reader.copy!
    }
}
