import ControlPlaneCore
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
        let marked = try NodeStore(db: db).markStale(graceSeconds: configuration.nodeStaleSeconds)
        let regions = try RegionStore(db: db).staleRegions(olderThanSeconds: configuration.regionStaleSeconds)
        for (id, since) in regions {
            let firings = try GovernanceRules(db: db, settings: configuration.rules)
                .evaluate(region: id, sweep: .stale, sweepDetail: "no good sweep since \(since)")
            for firing in firings { logger.info("rule fired", ["region": .string(id), "rule": .string(firing.rule), "detail": .string(firing.detail)]) }
        }
        return (marked, regions.count)
    }
}
