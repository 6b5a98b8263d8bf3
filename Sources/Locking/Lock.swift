#if canImport(Glibc)
import Glibc
#endif

/// A value behind an adaptive pthread mutex, for state every worker thread touches for a
/// moment per request (the token limiter, the server's running-request table, the slot pool).
/// Swift's `Synchronization.Mutex` is a priority-inheritance futex on Linux: under contention
/// it never spins and every collision is a system call and a task switch (34 % of the
/// backend's CPU in a profile of 64 connections on 2 cores). An adaptive mutex spins briefly
/// first, which is what sections of a few hundred nanoseconds want.
public final class Lock<Value>: @unchecked Sendable {  // `value` is only touched with `mutex` held
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
