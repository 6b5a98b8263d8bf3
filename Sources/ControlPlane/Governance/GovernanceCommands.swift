import Crypto
import Foundation
import Postgres

/// Governance commands: queue capacity, node re-image, partner routing. Recorded with
/// actor, reason and an idempotency key, delivered by the sync to the region's registry
/// (`POST /v1/registry/commands`), with an append-only audit trail of status changes:
/// PENDING → DELIVERED → ACKNOWLEDGED, or FAILED.
public enum CommandKind: String, CaseIterable, Sendable {
    case queueCapacity = "QUEUE_CAPACITY", reimageNode = "REIMAGE_NODE", partnerRouting = "PARTNER_ROUTING"
}

public struct GovernanceCommandStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public struct NewCommand: Sendable {
        public var region: String, kind: CommandKind, target: String
        /// Canonical JSON text of the parameters (written by this code, never by a client).
        public var paramsJSON: String
        public var actor: String, reason: String, idempotencyKey: String, ruleId: String?
        public init(region: String, kind: CommandKind, target: String, paramsJSON: String, actor: String, reason: String,
                    idempotencyKey: String, ruleId: String? = nil) {
            self.region = region; self.kind = kind; self.target = target; self.paramsJSON = paramsJSON
            self.actor = actor; self.reason = reason; self.idempotencyKey = idempotencyKey; self.ruleId = ruleId
        }
    }

    public enum Outcome { case created([UInt8]), existing([UInt8]) }
    public enum Failure: Error { case unknownRegion, idempotencyKeyReused, notFound, illegalTransition(String) }

    /// Issues a command, or returns the one already issued under the same idempotency key
    /// (a different command under that key is a conflict). Call inside a transaction.
    public func issue(_ command: NewCommand) throws -> Outcome {
        let inserted = try db.query("""
            INSERT INTO governance_commands (region_id, kind, target, params, actor, reason, idempotency_key, rule_id)
            SELECT \(command.region), \(command.kind.rawValue), \(command.target), \(command.paramsJSON)::jsonb,
                   \(command.actor), \(command.reason), \(command.idempotencyKey), \(command.ruleId)
            WHERE EXISTS (SELECT 1 FROM regions WHERE id = \(command.region))
            ON CONFLICT (idempotency_key) DO NOTHING
            RETURNING id::text
            """)
        if inserted.count == 1 {
            let id = try inserted.decode(0, 0, as: String.self)
            try recordEvent(id: id, from: nil, to: "PENDING", actor: command.actor, detail: command.reason)
            return .created(try get(id: id))
        }
        let existing = try db.query("""
            SELECT id::text, region_id = \(command.region) AND kind = \(command.kind.rawValue) AND target = \(command.target)
                   AND params = \(command.paramsJSON)::jsonb
            FROM governance_commands WHERE idempotency_key = \(command.idempotencyKey)
            """)
        guard existing.count == 1 else { throw Failure.unknownRegion }
        guard try existing.decode(0, 1, as: Bool.self) else { throw Failure.idempotencyKeyReused }
        return .existing(try get(id: try existing.decode(0, 0, as: String.self)))
    }

    public func recordEvent(id: String, from: String?, to: String, actor: String, detail: String?) throws {
        try db.query("""
            INSERT INTO governance_command_events (command_id, from_status, to_status, actor, detail)
            VALUES (\(id)::uuid, \(from), \(to), \(actor), \(detail))
            """)
    }

    public func acknowledge(id: String, actor: String, detail: String?) throws -> [UInt8] {
        guard TenantValidation.isUUID(id) else { throw Failure.notFound }
        return try db.transaction { _ in
            let rows = try db.query("SELECT status FROM governance_commands WHERE id = \(id)::uuid FOR UPDATE")
            guard rows.count == 1 else { throw Failure.notFound }
            let status = try rows.decode(0, 0, as: String.self)
            guard status == "DELIVERED" else { throw Failure.illegalTransition(status) }
            try db.query("UPDATE governance_commands SET status = 'ACKNOWLEDGED', acknowledged_at = now() WHERE id = \(id)::uuid")
            try recordEvent(id: id, from: status, to: "ACKNOWLEDGED", actor: actor, detail: detail)
            return try get(id: id)
        }
    }

    public func get(id: String) throws -> [UInt8] {
        guard TenantValidation.isUUID(id) else { throw Failure.notFound }
        let rows = try db.query("""
            SELECT id::text, region_id, kind, target, params::text, status, actor, reason, idempotency_key, rule_id,
                   attempts, last_error, issued_at, delivered_at, acknowledged_at
            FROM governance_commands WHERE id = \(id)::uuid
            """, retryOnConnectionLoss: true)
        guard rows.count == 1 else { throw Failure.notFound }
        let events = try db.query("""
            SELECT from_status, to_status, actor, detail, occurred_at FROM governance_command_events
            WHERE command_id = \(id)::uuid ORDER BY id
            """, retryOnConnectionLoss: true)
        var json = JSONWriter(capacity: 1024)
        try CommandJSON.write(rows, row: 0, to: &json, events: events)
        return json.bytes
    }

    public func list(region: String?, status: String?, limit: Int) throws -> [UInt8] {
        let rows = try db.query("""
            SELECT id::text, region_id, kind, target, params::text, status, actor, reason, idempotency_key, rule_id,
                   attempts, last_error, issued_at, delivered_at, acknowledged_at
            FROM governance_commands
            WHERE (\(region)::text IS NULL OR region_id = \(region)) AND (\(status)::text IS NULL OR status = \(status))
            ORDER BY issued_at DESC, id LIMIT \(limit)
            """, retryOnConnectionLoss: true)
        return try JSONWriter.list(count: rows.count) { json, row in try CommandJSON.write(rows, row: row, to: &json, events: nil) }
    }
}

enum CommandJSON {
    static func write(_ rows: PostgresRows, row: Int, to json: inout JSONWriter, events: PostgresRows?) throws {
        json.beginObject()
        json.key("id"); rows.withBytes(row, 0) { json.string(utf8: $0) }
        json.key("region"); rows.withBytes(row, 1) { json.string(utf8: $0) }
        json.key("kind"); rows.withBytes(row, 2) { json.string(utf8: $0) }
        json.key("target"); rows.withBytes(row, 3) { json.string(utf8: $0) }
        json.key("params"); rows.withBytes(row, 4) { json.raw(Array($0!)) }
        json.key("status"); rows.withBytes(row, 5) { json.string(utf8: $0) }
        json.key("actor"); rows.withBytes(row, 6) { json.string(utf8: $0) }
        json.key("reason"); rows.withBytes(row, 7) { json.string(utf8: $0) }
        json.key("idempotencyKey"); rows.withBytes(row, 8) { json.string(utf8: $0) }
        json.key("ruleId"); rows.withBytes(row, 9) { json.string(utf8: $0) }
        json.key("attempts"); json.int(try rows.decode(row, 10, as: Int.self))
        json.key("lastError"); rows.withBytes(row, 11) { json.string(utf8: $0) }
        json.key("issuedAt"); rows.withBytes(row, 12) { Timestamp.write($0, to: &json) }
        json.key("deliveredAt"); rows.withBytes(row, 13) { Timestamp.write($0, to: &json) }
        json.key("acknowledgedAt"); rows.withBytes(row, 14) { Timestamp.write($0, to: &json) }
        if let events {
            json.key("audit")
            json.beginArray()
            for e in 0..<events.count {
                json.beginObject()
                json.key("fromStatus"); events.withBytes(e, 0) { json.string(utf8: $0) }
                json.key("toStatus"); events.withBytes(e, 1) { json.string(utf8: $0) }
                json.key("actor"); events.withBytes(e, 2) { json.string(utf8: $0) }
                json.key("detail"); events.withBytes(e, 3) { json.string(utf8: $0) }
                json.key("occurredAt"); events.withBytes(e, 4) { Timestamp.write($0, to: &json) }
                json.endObject()
            }
            json.endArray()
        }
        json.endObject()
    }
}
