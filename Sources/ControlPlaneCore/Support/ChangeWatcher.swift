import Foundation
import Postgres

/// The thread behind each in-memory copy of a table (the domain dictionary, the tenant
/// directory): it LISTENs on `channel` and calls `refresh` after every notice and at least
/// every `pollMilliseconds`. On any failure it reconnects after `retrySeconds` and refreshes
/// first, so changes whose notices were lost while it was away are caught by the version
/// check that `refresh` makes.
public enum ChangeWatcher {
    public static func start(name: String, conninfo: String, options: PostgresConnection.Options, channel: StaticString,
                             pollMilliseconds: Int32, retrySeconds: Double,
                             refresh: @escaping @Sendable (PostgresConnection) throws -> Void) {
        let thread = Thread {
            let db = PostgresConnection(conninfo: conninfo, options: options)
            var listening = false
            while true {
                do {
                    if !listening || !db.isConnected {
                        try db.ensureConnected()
                        try db.listen(channel)
                        listening = true
                    }
                    try refresh(db)
                    _ = try db.waitForNotifications(timeoutMilliseconds: pollMilliseconds)
                } catch {
                    listening = false
                    Thread.sleep(forTimeInterval: retrySeconds)
                }
            }
        }
        thread.name = name
        thread.start()
    }
}
