import Locking
#if canImport(Glibc)
import Glibc
#endif

/// libfcgi request structures, one per open connection, reused across connections.
final class SlotPool: @unchecked Sendable {
    private let state = Lock<(all: [RequestSlot], free: [Int])>(([], []))

    func acquire(listenDescriptor: Int32) -> RequestSlot {
        state.withLock { state in
            if let id = state.free.popLast() { return state.all[id] }
            let slot = RequestSlot(listenDescriptor: listenDescriptor, id: state.all.count)
            state.all.append(slot)
            return slot
        }
    }

    /// The epoll token of a slot: its address. Slots are never freed (`all` keeps them for the
    /// pool's life), so the hot path finds the slot of a ready connection without a lock.
    static func token(for slot: RequestSlot) -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passUnretained(slot).toOpaque()))
    }

    static func slot(forToken token: UInt64) -> RequestSlot {
        Unmanaged<RequestSlot>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(token))!).takeUnretainedValue()
    }

    func release(_ slot: RequestSlot) {
        slot.registeredDescriptor = -1
        state.withLock { $0.free.append(slot.id) }
    }

    /// At stop, after the workers have finished: close kept connections nobody is using.
    func closeIdleConnections() {
        state.withLock { state in
            for slot in state.all where slot.connectionDescriptor >= 0 { shutdown(slot.connectionDescriptor, Int32(SHUT_RDWR)) }
        }
    }
}
