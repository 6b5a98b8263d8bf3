import Foundation
import Postgres

/// The documented rule table, evaluated for a region after each sweep (and by the health
/// sweep). Rules only issue governance commands and set region health; they never touch
/// job data (the database refuses that anyway).
///
/// | rule | when | then |
/// |---|---|---|
/// | `reimage-node-on-runtime-failures` | ≥ `reimageThreshold` jobs `FAILED_RUNTIME_ENVIRONMENT` on one node (payload `nodeId`) updated within `windowMinutes` | one `REIMAGE_NODE` for that node; not again for the same node within the window; the brake: at most `reimageMaxShare` of the region's nodes (at least one) re-imaged within the window, the rest recorded as `REMEDIATION_SUPPRESSED` |
/// | `region-health` | the sweep failed with no page in → `DEGRADED`; some pages in, then a failure → `PARTIAL`; ≥ `degradedShare` of the region's jobs updated within the window are `DEGRADED` (at least `degradedMinimumJobs`) → `DEGRADED`; else `HEALTHY` | region health (with the reason) |
/// | `partner-routing-failover` | the region just became `DEGRADED` and another enabled region is `HEALTHY` | one `PARTNER_ROUTING` to the healthy region's registry: route the degraded region's partners there; the brake: not while another region's partners are routed away (`REMEDIATION_SUPPRESSED`) |
/// | `queue-capacity-drift` | after a good sweep, a queue's reported capacity differs from the desired one, whose command the registry accepted (DELIVERED or ACKNOWLEDGED) at least `queueDriftMinutes` ago | one `QUEUE_CAPACITY` again with the desired capacity; the brake: at most `queueReissueMax` re-issues in a row, then `REMEDIATION_SUPPRESSED` until someone sets the queue |
/// | `partner-routing-return` | the region is `HEALTHY` again and its partners were routed away at least `routingHoldMinutes` ago | one `PARTNER_ROUTING` back to the region itself; earlier: held (`REMEDIATION_SUPPRESSED`, once) |
///
/// A region in dry run (`dryRun`) gets the same evaluation, but each command a rule would issue
/// is only recorded (`DRY_RUN`, beside the brake's suppressions) and routing state stays put.
///
/// `COMPLETED_WITH_FINDINGS` and `PARTIAL` job statuses are counted in the job views and
/// metrics; they trigger no automatic action.
public struct GovernanceRules {
    public struct Settings: Sendable {
        public var reimageThreshold = 3
        public var windowMinutes = 30
        public var degradedShare = 0.5
        public var degradedMinimumJobs = 10
        public var reimageMaxShare = 0.2
        public var routingHoldMinutes = 15
        public var queueDriftMinutes = 10
        public var queueReissueMax = 3
        public init() {}

        public init(environment: Environment) throws {
            reimageThreshold = try environment.int("CONTROLPLANE_RULE_REIMAGE_THRESHOLD", default: 3, range: 1...10_000)
            windowMinutes = try environment.int("CONTROLPLANE_RULE_WINDOW_MINUTES", default: 30, range: 1...10_080)
            degradedShare = try environment.double("CONTROLPLANE_RULE_DEGRADED_SHARE", default: 0.5)
            degradedMinimumJobs = try environment.int("CONTROLPLANE_RULE_DEGRADED_MINIMUM_JOBS", default: 10, range: 1...1_000_000)
            routingHoldMinutes = try environment.int("CONTROLPLANE_RULE_ROUTING_HOLD_MINUTES", default: 15, range: 0...10_080)
            queueDriftMinutes = try environment.int("CONTROLPLANE_RULE_QUEUE_DRIFT_MINUTES", default: 10, range: 0...10_080)
            queueReissueMax = try environment.int("CONTROLPLANE_RULE_QUEUE_REISSUE_MAX", default: 3, range: 0...100)
            reimageMaxShare = try environment.double("CONTROLPLANE_RULE_REIMAGE_MAX_SHARE", default: 0.2)
            guard (0...1).contains(reimageMaxShare) else {
                throw ConfigurationError.invalid(key: "CONTROLPLANE_RULE_REIMAGE_MAX_SHARE", expected: "a share between 0 and 1")
            }
        }
    }

    public enum SweepOutcome: String, Sendable { case ok = "OK", partial = "PARTIAL", failed = "FAILED", stale = "STALE" }

    public struct Firing: Sendable, CustomStringConvertible {
        public let rule: String
        public let detail: String
        public var description: String { "\(rule): \(detail)" }
    }

    public static let table: [(id: String, when: String, then: String)] = [
        ("reimage-node-on-runtime-failures",
         "at least N (CONTROLPLANE_RULE_REIMAGE_THRESHOLD, 3) jobs FAILED_RUNTIME_ENVIRONMENT on one node within the window (CONTROLPLANE_RULE_WINDOW_MINUTES, 30)",
         "one REIMAGE_NODE command for that node; not again for that node within the window; brake: at most a share (CONTROLPLANE_RULE_REIMAGE_MAX_SHARE, 0.2) of the region's nodes, at least one, re-imaged within the window — the rest recorded as REMEDIATION_SUPPRESSED"),
        ("region-health",
         "sweep failed with no page in: DEGRADED; some pages then a failure: PARTIAL; a share (CONTROLPLANE_RULE_DEGRADED_SHARE, 0.5) of the jobs updated within the window DEGRADED, at least CONTROLPLANE_RULE_DEGRADED_MINIMUM_JOBS (10): DEGRADED; no good sweep for CONTROLPLANE_REGION_STALE_SECONDS: DEGRADED; otherwise HEALTHY",
         "sets the region's health and reason"),
        ("partner-routing-failover", "the region has just become DEGRADED and another enabled region is HEALTHY",
         "one PARTNER_ROUTING command to the healthy region's registry routing the degraded region's partners to it; brake: never while another region's partners are routed away (recorded as REMEDIATION_SUPPRESSED)"),
        ("partner-routing-return", "the region is HEALTHY again and its partners were routed away at least CONTROLPLANE_RULE_ROUTING_HOLD_MINUTES (15) ago",
         "one PARTNER_ROUTING command routing them back; before the hold ends: held, recorded once as REMEDIATION_SUPPRESSED"),
        ("queue-capacity-drift",
         "after a good sweep, a queue's reported capacity differs from the desired one (the newest QUEUE_CAPACITY not refused), which the registry accepted at least CONTROLPLANE_RULE_QUEUE_DRIFT_MINUTES (10) ago",
         "one QUEUE_CAPACITY command again with the desired capacity; brake: at most CONTROLPLANE_RULE_QUEUE_REISSUE_MAX (3) re-issues in a row, then recorded once as REMEDIATION_SUPPRESSED until someone sets the queue"),
    ]

    public let db: PostgresConnection
    public let settings: Settings
    public let actor = "rule-engine"

    public init(db: PostgresConnection, settings: Settings) {
        self.db = db
        self.settings = settings
    }

    /// Evaluates every rule for `region` in one transaction; returns what fired.
    @discardableResult
    public func evaluate(region: String, sweep: SweepOutcome, sweepDetail: String? = nil) throws -> [Firing] {
        try db.transaction { db in
            let dryRun = try RegionStore(db: db).isDryRun(region)
            var firings = try reimageNodes(region: region, dryRun: dryRun)
            firings += try health(region: region, sweep: sweep, sweepDetail: sweepDetail, dryRun: dryRun)
            if sweep == .ok { firings += try queueDrift(region: region, dryRun: dryRun) }
            return firings
        }
    }

    /// Issues the command, or in dry run records that it would have (once per idempotency
    /// key). True when a command was created or a dry run recorded.
    private func issue(_ command: GovernanceCommandStore.NewCommand, for region: String, dryRun: Bool) throws -> Bool {
        guard dryRun else {
            guard case .created = try GovernanceCommandStore(db: db).issue(command) else { return false }
            try AuditLogStore(db: db).record(.init(actor: "rule:\(command.ruleId ?? "rules")", traceId: nil, action: "command.issue",
                                                   target: "region:\(command.region)", reason: command.reason,
                                                   summary: "\(command.kind.rawValue) \(command.target)"))
            return true
        }
        return try RemediationSuppressionStore(db: db).record(
            region: region, rule: command.ruleId ?? "", kind: command.kind.rawValue, target: command.target,
            reason: "dry run: would issue \(command.kind.rawValue) \(command.target) \(command.paramsJSON): \(command.reason)",
            dedupKey: "dry-run:" + command.idempotencyKey, dryRun: true)
    }

    /// Records a firing the brake held back, once per `dedupKey`; the firing to report when
    /// this call recorded it (none when an earlier sweep did).
    private func suppress(region: String, rule: String, kind: CommandKind, target: String, reason: String,
                          dedupKey: String) throws -> [Firing] {
        guard try RemediationSuppressionStore(db: db).record(region: region, rule: rule, kind: kind.rawValue, target: target,
                                                             reason: reason, dedupKey: dedupKey) else { return [] }
        return [Firing(rule: "REMEDIATION_SUPPRESSED", detail: "\(kind.rawValue) \(target): \(reason)")]
    }

    private func reimageNodes(region: String, dryRun: Bool) throws -> [Firing] {
        let window = settings.windowMinutes
        let commands = GovernanceCommandStore(db: db)
        var firings: [Firing] = []
        let candidates = try JobStore(db: db).runtimeFailuresByNode(region: region, windowMinutes: window,
                                                                    threshold: settings.reimageThreshold)
        guard !candidates.isEmpty else { return [] }
        // The brake: a bad day in one region must not re-image most of it. Nodes the registry
        // never reported still count once they fail.
        let nodes = max(try NodeStore(db: db).count(region: region), candidates.count)
        let allowed = max(1, Int((settings.reimageMaxShare * Double(nodes)).rounded(.down)))
        var used = try commands.reimageCount(region: region, windowMinutes: window)
        let bucket = Int(Date().timeIntervalSince1970) / (window * 60)
        for (node, count) in candidates {
            guard try !commands.recentReimage(region: region, node: node, windowMinutes: window) else { continue }
            guard used < allowed else {
                let reason = "\(count) jobs FAILED_RUNTIME_ENVIRONMENT on \(node) within \(window) minutes; held back: "
                    + "\(used) of \(nodes) nodes already re-imaged within the window (at most \(allowed))"
                firings += try suppress(region: region, rule: "reimage-node-on-runtime-failures", kind: .reimageNode, target: node,
                                        reason: reason, dedupKey: "rule:reimage-node:\(region):\(node):\(bucket)")
                continue
            }
            used += 1  // issued now, or earlier in this window under the same key
            if try issue(.init(
                region: region, kind: .reimageNode, target: node, paramsJSON: "{}", actor: actor,
                reason: "\(count) jobs FAILED_RUNTIME_ENVIRONMENT on \(node) within \(window) minutes",
                idempotencyKey: "rule:reimage-node:\(region):\(node):\(bucket)", ruleId: "reimage-node-on-runtime-failures"),
                for: region, dryRun: dryRun) {
                firings.append(Firing(rule: dryRun ? "DRY_RUN" : "reimage-node-on-runtime-failures", detail: "REIMAGE_NODE \(node) (\(count) failures)"))
            }
        }
        return firings
    }

    /// Queues whose registry reports another capacity than the one asked for, long after it
    /// accepted the command: ask again, a few times at most.
    private func queueDrift(region: String, dryRun: Bool) throws -> [Firing] {
        let rule = "queue-capacity-drift"
        var firings: [Firing] = []
        for entry in try QueueCapacities(db: db).entries(region: region) {
            guard let desired = entry.desired, let reported = entry.reported, entry.drifting,
                  ["DELIVERED", "ACKNOWLEDGED"].contains(desired.status), desired.ageSeconds >= settings.queueDriftMinutes * 60 else { continue }
            let why = "\(entry.queue) reports capacity \(reported.capacity), desired \(desired.capacity) since command \(desired.commandId)"
            let reissues = try GovernanceCommandStore(db: db).ruleReissues(region: region, queue: entry.queue, rule: rule)
            guard reissues < settings.queueReissueMax else {
                firings += try suppress(region: region, rule: rule, kind: .queueCapacity, target: entry.queue,
                                        reason: "\(why); held back: re-issued \(reissues) times in a row without effect",
                                        dedupKey: "rule:\(rule):\(region):\(entry.queue):held:\(desired.commandId)")
                continue
            }
            if try issue(.init(region: region, kind: .queueCapacity, target: entry.queue, paramsJSON: #"{"capacity": \#(desired.capacity)}"#,
                               actor: actor, reason: "\(why); asking again", idempotencyKey: "rule:\(rule):\(desired.commandId)", ruleId: rule),
                         for: region, dryRun: dryRun) {
                firings.append(Firing(rule: dryRun ? "DRY_RUN" : rule, detail: "QUEUE_CAPACITY \(entry.queue) \(desired.capacity) (reported \(reported.capacity))"))
            }
        }
        return firings
    }

    private func health(region: String, sweep: SweepOutcome, sweepDetail: String?, dryRun: Bool) throws -> [Firing] {
        let regions = RegionStore(db: db)
        guard let (previous, routedTo, routedSecondsAgo) = try regions.lockHealth(region) else { return [] }

        var health = "HEALTHY", reason = "last sweep OK"
        switch sweep {
        case .failed: (health, reason) = ("DEGRADED", "sweep failed: \(sweepDetail ?? "no page could be read")")
        case .stale: (health, reason) = ("DEGRADED", sweepDetail ?? "no good sweep recently")
        case .partial: (health, reason) = ("PARTIAL", "sweep stopped part-way: \(sweepDetail ?? "error")")
        case .ok:
            let (total, degraded) = try JobStore(db: db).degradedShare(region: region, windowMinutes: settings.windowMinutes)
            if total >= settings.degradedMinimumJobs && Double(degraded) >= settings.degradedShare * Double(total) {
                (health, reason) = ("DEGRADED", "\(degraded) of \(total) recent jobs DEGRADED")
            }
        }
        var firings: [Firing] = []
        let changedAt = try regions.setHealth(region, health: health, reason: reason, changed: health != previous)
        if health != previous {
            firings.append(Firing(rule: "region-health", detail: "\(previous) → \(health): \(reason)"))
        }

        if health == "DEGRADED" && previous != "DEGRADED" && routedTo == nil {
            if let target = try regions.healthyAlternative(to: region) {
                // The brake: one region's partners routed away at a time.
                if let other = try regions.routedAway(excluding: region).first {
                    let held = "\(region) is DEGRADED (\(reason)); not routing its partners to \(target): \(other)'s partners are "
                        + "routed away already (one region at a time)"
                    return firings + (try suppress(region: region, rule: "partner-routing-failover", kind: .partnerRouting, target: region,
                                                   reason: held, dedupKey: "rule:partner-routing-failover:\(region):\(changedAt)"))
                }
                _ = try issue(.init(
                    region: target, kind: .partnerRouting, target: region, paramsJSON: #"{"routeTo": "\#(target)"}"#,
                    actor: actor, reason: "\(region) is DEGRADED (\(reason)); route its partners to \(target)",
                    idempotencyKey: "rule:partner-routing-failover:\(region):\(changedAt)", ruleId: "partner-routing-failover"),
                    for: region, dryRun: dryRun)
                if dryRun { return firings + [Firing(rule: "DRY_RUN", detail: "PARTNER_ROUTING \(region) → \(target)")] }
                try regions.setPartnerRouting(region, to: target)
                firings.append(Firing(rule: "partner-routing-failover", detail: "PARTNER_ROUTING \(region) → \(target)"))
            }
        } else if health == "HEALTHY", let away = routedTo {
            let hold = settings.routingHoldMinutes * 60
            guard routedSecondsAgo >= hold else {
                // No flapping: a change stands for its hold time before it is undone.
                let held = "\(region) is HEALTHY again; its partners stay with \(away) until \(settings.routingHoldMinutes) minutes "
                    + "after they were routed there (\(hold - routedSecondsAgo) s left)"
                return firings + (try suppress(region: region, rule: "partner-routing-return", kind: .partnerRouting, target: region,
                                               reason: held, dedupKey: "rule:partner-routing-return:\(region):hold:\(changedAt)"))
            }
            _ = try issue(.init(
                region: region, kind: .partnerRouting, target: region, paramsJSON: #"{"routeTo": "\#(region)"}"#,
                actor: actor, reason: "\(region) is HEALTHY again; route its partners back from \(away)",
                idempotencyKey: "rule:partner-routing-return:\(region):\(changedAt)", ruleId: "partner-routing-return"),
                for: region, dryRun: dryRun)
            if dryRun { return firings + [Firing(rule: "DRY_RUN", detail: "PARTNER_ROUTING \(region) back from \(away)")] }
            try regions.setPartnerRouting(region, to: nil)
            firings.append(Firing(rule: "partner-routing-return", detail: "PARTNER_ROUTING \(region) back from \(away)"))
        }
        return firings
    }
}
