import Postgres

/// An outbox's state for metrics: messages waiting, messages given up on (dead-lettered, or
/// FAILED), and how long the oldest waiting one has waited (nil: none waits).
public struct OutboxBacklog: PostgresRowDecodable, Sendable {
    public static let columns = "pending, dead, oldest_pending_seconds"
    public let pending: Int, dead: Int, oldestPendingSeconds: Double?
    public init(row: inout PostgresRowReader) throws {
        pending = try row.next(); dead = try row.next(); oldestPendingSeconds = try row.next()
    }
}
