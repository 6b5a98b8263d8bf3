import ControlPlane
import Foundation
import Postgres
import ServiceLog

/// Marks nodes whose heartbeat is older than the grace as stale, and regions whose last
/// good sweep is too old as DEGRADED (through the rules, so routing follows).
struct HealthSweeper {
    let db: PostgresConnection
    let configuration: SyncConfiguration
    let logger: Logger

    func run() throws -> (staleNodes: Int, staleRegions: Int) {
        let marked = try db.query("""
            UPDATE nodes SET stale_since = now()
            WHERE stale_since IS NULL AND last_heartbeat_at < now() - make_interval(secs => \(configuration.nodeStaleSeconds))
            """).affectedRows
        let regions = try db.query("""
            SELECT id, COALESCE(to_char(last_good_sweep_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'never') FROM regions
            WHERE enabled AND COALESCE(last_good_sweep_at, created_at) < now() - make_interval(secs => \(configuration.regionStaleSeconds))
            ORDER BY id
            """)
        for row in 0..<regions.count {
            let id = try regions.decode(row, 0, as: String.self)
            let since = try regions.decode(row, 1, as: String.self)
            let firings = try GovernanceRules(db: db, settings: configuration.rules)
                .evaluate(region: id, sweep: .stale, sweepDetail: "no good sweep since \(since)")
            for firing in firings { logger.info("rule fired", ["region": .string(id), "rule": .string(firing.rule), "detail": .string(firing.detail)]) }
        }
        return (marked, regions.count)
    }
}
