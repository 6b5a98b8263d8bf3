import ControlPlaneCore
import Foundation
import Postgres
import ServiceLog

/// Delivers PENDING governance commands to their region's `POST /v1/registry/commands`
/// with a fresh JWT (scope `registry:commands:write`). The registry applies a commandId
/// once, so a retry after an unknown outcome is safe. One command per transaction,
/// with its region held for the transaction (`claimNext`): a region's commands go out one at
/// a time and in order across every host running `deliver`, and a region whose registry
/// hangs holds one worker.
struct CommandDeliverer {
    let db: PostgresConnection
    let configuration: SyncConfiguration
    let logger: Logger
    let shared: DeliveryRun
    var retrySchedule = RetrySchedule.commands

    func run() throws -> DeliverySummary { try shared.drain(deliverOne) }

    private func deliverOne() throws -> DeliveryOutcome? {
        try db.transaction { db in
            let commands = GovernanceCommandStore(db: db)
            guard let command = try commands.claimNext() else { return nil }
            let attempt = command.attempts + 1
            var body = JSONWriter()
            body.beginObject()
            body.key("commandId"); body.string(command.id)
            body.key("kind"); body.string(command.kind)
            body.key("target"); body.string(command.target)
            body.key("params"); body.raw(Array(command.paramsJSON.utf8))
            body.key("issuedAt"); body.timestamp(command.issuedAt)
            body.endObject()
            let client = RegistryClient(region: command.region, baseURL: command.baseURL, requestsPerSecond: 0,
                                        configuration: configuration, traceId: command.traceId)
            var status = "DELIVERED", error: String?, delay = 0.0
            do {
                _ = try client.send(method: "POST", path: "/v1/registry/commands", body: body.bytes, scope: "registry:commands:write")
            } catch let failure as RegistryClient.Failure {
                error = failure.description
                if case .status(let code, _) = failure, (400..<500).contains(code), code != 408, code != 429 {
                    status = "FAILED"  // the registry refuses it: retrying cannot help
                } else if let wait = retrySchedule.delay(afterAttempt: attempt) {
                    status = "PENDING"
                    delay = wait
                } else {
                    status = "FAILED"
                }
            }
            try commands.recordDelivery(id: command.id, from: command.status, status: status, attempts: attempt, error: error,
                                        retryAfterSeconds: delay)
            logger.info("command delivery", ["commandId": .string(command.id), "region": .string(command.region),
                                             "attempt": .int(attempt), "status": .string(status), "error": .string(error ?? "")])
            return switch status {
            case "DELIVERED": .delivered
            case "PENDING": .rescheduled
            default: .gaveUp
            }
        }
    }
}
