import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// libfcgi request structures, one per open connection, reused across connections.
final class SlotPool: @unchecked Sendable {
    private let state = Mutex<(all: [RequestSlot], free: [Int])>(([], []))

    func acquire(listenDescriptor: Int32) -> RequestSlot {
        state.withLock { state in
            if let id = state.free.popLast() { return state.all[id] }
            let slot = RequestSlot(listenDescriptor: listenDescriptor, id: state.all.count)
            state.all.append(slot)
            return slot
        }
    }

    func slot(_ id: Int) -> RequestSlot { state.withLock { $0.all[id] } }

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
