import Foundation
import Postgres
import Synchronization

/// Runs `count` workers on their own threads, each with its own database connection (made
/// here, before any starts), waits for all, and rethrows the first error (a lost database)
/// once every worker has stopped; otherwise their results, each of them.
func runWorkers<T: Sendable>(_ count: Int, connect: () throws -> PostgresConnection,
                             body: @escaping @Sendable (PostgresConnection) throws -> T) throws -> [T] {
    let connections = try (0..<max(1, count)).map { _ in Handoff(try connect()) }
    let results = Mutex<[Result<T, Error>]>([])
    let group = DispatchGroup()
    for connection in connections {
        group.enter()
        Thread.detachNewThread {
            let result = Result { try body(connection.value) }
            results.withLock { $0.append(result) }
            group.leave()
        }
    }
    group.wait()
    return try results.withLock { $0 }.map { try $0.get() }
}

/// A connection handed to the one thread that will use it.
private struct Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
