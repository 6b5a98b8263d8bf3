import Foundation
import Postgres
/// A governance command as an operator asks for it (control API or console), checked once
/// here so both surfaces accept and refuse exactly the same commands.
public struct CommandRequest: Sendable {
    public var region: String, kind: String, target: String, capacity: Int?, routeTo: String?, reason: String
    public init(region: String, kind: String, target: String, capacity: Int? = nil, routeTo: String? = nil, reason: String) {
        self.region = region; self.kind = kind; self.target = target; self.capacity = capacity; self.routeTo = routeTo
        self.reason = reason
    }

    /// Kinds an operator confirms on a second step: they take a node down or move a region's traffic.
    public static let highImpact: Set<CommandKind> = [.reimageNode, .partnerRouting]

    /// The command to issue, or every problem with the request (a 422 with each field named).
    public func validated(actor: String, idempotencyKey: String) throws -> GovernanceCommandStore.NewCommand {
        var problems: [Problem.InvalidParam] = []
        let kind = CommandKind(rawValue: self.kind)
        if kind == nil { problems.append(.init(name: "kind", reason: "must be QUEUE_CAPACITY, REIMAGE_NODE or PARTNER_ROUTING")) }
        if !(1...200).contains(target.utf8.count) { problems.append(.init(name: "target", reason: "must be 1 to 200 bytes")) }
        if reason.trimmingCharacters(in: .whitespaces).isEmpty || reason.count > 500 {
            problems.append(.init(name: "reason", reason: "is required (at most 500 characters)"))
        }
        if !(1...200).contains(idempotencyKey.utf8.count) { problems.append(.init(name: "idempotencyKey", reason: "must be 1 to 200 bytes")) }
        var params = JSONWriter()
        params.beginObject()
        switch kind {
        case .queueCapacity:
            if let capacity, (0...100_000).contains(capacity) {
                params.key("capacity"); params.int(capacity)
            } else {
                problems.append(.init(name: "params.capacity", reason: "must be an integer from 0 to 100000"))
            }
            if routeTo != nil { problems.append(.init(name: "params.routeTo", reason: "does not apply to QUEUE_CAPACITY")) }
        case .partnerRouting:
            if let routeTo, RegionStore.idProblem(routeTo) == nil {
                params.key("routeTo"); params.string(routeTo)
            } else {
                problems.append(.init(name: "params.routeTo", reason: "must be a region id"))
            }
            if capacity != nil { problems.append(.init(name: "params.capacity", reason: "does not apply to PARTNER_ROUTING")) }
        case .reimageNode:
            if capacity != nil || routeTo != nil { problems.append(.init(name: "params", reason: "REIMAGE_NODE takes no parameters")) }
        case nil: break
        }
        params.endObject()
        guard problems.isEmpty, let kind else { throw Problem.validation(problems) }
        return .init(region: region, kind: kind, target: target, paramsJSON: String(decoding: params.bytes, as: UTF8.self),
                     actor: actor, reason: reason, idempotencyKey: idempotencyKey)
    }

    /// Issues a checked command and, unless it replays one issued under the same idempotency
    /// key, its audit row, in one transaction (the control API and the console alike).
    public static func issue(_ command: GovernanceCommandStore.NewCommand, db: PostgresConnection,
                             traceId: String?) throws -> GovernanceCommandStore.Outcome {
        try db.transaction { db in
            let outcome = try GovernanceCommandStore(db: db).issue(command, traceId: traceId)
            if case .created = outcome {
                try AuditLogStore(db: db).record(.init(actor: command.actor, traceId: traceId, action: "command.issue",
                                                       target: "region:\(command.region)", reason: command.reason,
                                                       summary: "\(command.kind.rawValue) \(command.target)"))
            }
            return outcome
        }
    }
}
