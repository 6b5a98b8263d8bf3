import Foundation
import Locking
import Postgres
import ServiceLog
import Synchronization

/// The runtime free/disposable/blocked dictionary, held in memory by every backend process
/// and shared by its worker threads. A watcher thread LISTENs for `email_domains_changed`
/// and also compares `email_domains_version` every `pollSeconds`, so an operator's change
/// applies within seconds without a restart, and no request ever queries the table.
public final class DomainDictionary: Sendable {
    private let state = Published<(version: Int64, table: DomainTable)>((0, DomainTable([])))

    public init() {}

    /// A worker's own reference to the current table (see `Published`).
    public typealias Reader = Published<(version: Int64, table: DomainTable)>.Reader

    public var table: DomainTable { state.value.table }
    public var version: Int64 { state.value.version }

    /// The current table through a worker's `reader`: no lock unless the table was replaced.
    public func table(_ reader: Reader) -> DomainTable { state.read(reader).table }

    /// Loads the dictionary if its version moved; returns true when it did.
    @discardableResult
    public func refresh(_ db: PostgresConnection) throws -> Bool {
        let store = EmailDomainStore(db: db)
        if try store.version() == version { return false }
        let (version, domains) = try store.snapshot()
        let table = DomainTable(domains)
        state.publish((version, table))
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
