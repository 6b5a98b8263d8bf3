import Foundation
import Postgres
import Synchronization

/// Runs `count` workers on their own threads, each with its own database connection (made
/// here, before any starts), waits for all, and rethrows the first error (a lost database)
/// once every worker has stopped; otherwise their results, each of them.
func runWorkers<T: Sendable>(_ count: Int, connect: () throws -> PostgresConnection,
                             body: @escaping @Sendable (PostgresConnection) throws -> T) throws -> [T] {
    try runConcurrently(Array(repeating: body, count: max(1, count)), connect: connect)
}

/// Runs each body on its own thread with its own database connection (all made before any
/// starts), waits for all, and rethrows the first error once every body has stopped;
/// otherwise their results in the order of `bodies`.
func runConcurrently<T: Sendable>(_ bodies: [@Sendable (PostgresConnection) throws -> T],
                                  connect: () throws -> PostgresConnection) throws -> [T] {
    let connections = try bodies.map { _ in Handoff(try connect()) }
    let results = Mutex<[Int: Result<T, Error>]>([:])
    let group = DispatchGroup()
    for (index, (body, connection)) in zip(bodies, connections).enumerated() {
        group.enter()
        Thread.detachNewThread {
            let result = Result { try body(connection.value) }
            results.withLock { $0[index] = result }
            group.leave()
        }
    }
    group.wait()
    return try results.withLock { finished in try bodies.indices.map { try finished[$0]!.get() } }
}

/// A connection handed to the one thread that will use it.
private struct Handoff<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
