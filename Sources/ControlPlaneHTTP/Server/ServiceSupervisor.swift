import ControlPlaneCore
import FastCGI
import Postgres

/// controlplaned under systemd (`Type=notify`), ticked once a second by the server's monitor:
/// `READY=1` once the pool listens and the database answered, a php-fpm-like `STATUS=` line,
/// and `WATCHDOG=1` only while workers make progress (a request finished since the last tick,
/// or a worker is free), so a pool wedged with every worker stuck is restarted by systemd.
public final class ServiceSupervisor: @unchecked Sendable {  // only the monitor thread calls tick()
    private let notify: SystemdNotify
    private let stats: ServerStats
    private let database: PostgresConnection
    private var ready = false
    private var lastCompleted = -1

    public init(stats: ServerStats, settings: ApplicationSettings, notify: SystemdNotify = SystemdNotify()) {
        self.notify = notify
        self.stats = stats
        var options = settings.databaseOptions
        options.applicationName = "controlplaned-supervisor"
        database = PostgresConnection(conninfo: settings.databaseURL, options: options)
    }

    public func tick() {
        guard notify.isActive else { return }
        if !ready {
            guard (try? database.ping()) != nil else { return notify.status("Waiting for the database") }
            ready = true
            database.close()  // only the first answer matters: the workers have their own connections
            return notify.ready(status: statusLine())
        }
        notify.status(statusLine())
        guard notify.watchdogInterval != nil else { return }
        let completed = stats.completedCount
        if completed != lastCompleted || stats.inFlightCount < stats.threadCount { notify.watchdog() }
        lastCompleted = completed
    }

    /// `Ready: 2 busy, 14 idle workers; 10345 requests, 3 slow` (as php-fpm's status reads).
    func statusLine() -> String {
        let busy = stats.inFlightCount
        return "Ready: \(busy) busy, \(max(0, stats.threadCount - busy)) idle workers; \(stats.acceptedCount) requests, \(stats.slowRequestCount) slow"
    }
}
