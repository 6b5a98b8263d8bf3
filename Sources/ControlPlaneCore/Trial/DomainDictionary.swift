import Foundation
import Postgres
import ServiceLog
import Synchronization

/// The runtime free/disposable/blocked dictionary, held in memory by every backend process
/// and shared by its worker threads. A watcher thread LISTENs for `email_domains_changed`
/// and also compares `email_domains_version` every `pollSeconds`, so an operator's change
/// applies within seconds without a restart, and no request ever queries the table.
public final class DomainDictionary: Sendable {
    private let state = Mutex<(version: Int64, table: DomainTable)>((0, DomainTable([])))

    public init() {}

    public var table: DomainTable { state.withLock { $0.table } }
    public var version: Int64 { state.withLock { $0.version } }

    /// Loads the dictionary if its version moved; returns true when it did.
    @discardableResult
    public func refresh(_ db: PostgresConnection) throws -> Bool {
        let store = EmailDomainStore(db: db)
        if try store.version() == version { return false }
        let (version, domains) = try store.snapshot()
        let table = DomainTable(domains)
        state.withLock { $0 = (version, table) }
        return true
    }

    /// Starts the watcher thread (for the life of the process).
    public func startWatching(conninfo: String, options: PostgresConnection.Options, pollSeconds: Double, logger: Logger) {
        ChangeWatcher.start(name: "domain-dictionary", conninfo: conninfo, options: options, channel: "email_domains_changed",
                            pollMilliseconds: Int32(pollSeconds * 1000), retrySeconds: min(pollSeconds, 1)) { [self] db in
            if try refresh(db) {
                logger.info("email domain dictionary loaded", ["version": .int(Int(version)), "domains": .int(table.count)])
            }
        }
    }
}
