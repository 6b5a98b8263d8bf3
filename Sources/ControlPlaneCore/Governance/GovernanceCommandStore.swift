import OpenSSLCrypto
import Foundation
import Postgres

/// Governance commands: queue capacity, node re-image, partner routing. Recorded with
/// actor, reason and an idempotency key, delivered by the sync to the region's registry
/// (`POST /v1/registry/commands`), with an append-only audit trail of status changes:
/// PENDING → DELIVERED → ACKNOWLEDGED, or FAILED.
public enum CommandKind: String, CaseIterable, Sendable {
    case queueCapacity = "QUEUE_CAPACITY", reimageNode = "REIMAGE_NODE", partnerRouting = "PARTNER_ROUTING"
}

/// `governance_commands` and their append-only `governance_command_events`.
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

    public enum Failure: Error, ProblemConvertible {
        case unknownRegion, idempotencyKeyReused, notFound, illegalTransition(String)
        public var problem: Problem {
            switch self {
            case .unknownRegion: .validation("region", "is not a known region")
            case .idempotencyKeyReused: .conflict("This idempotency key was used for a different command.", type: .idempotencyKeyReused)
            case .notFound: .notFound("No such command.")
            case .illegalTransition(let status):
                .conflict("Only a DELIVERED command can be acknowledged; this one is \(status).", type: .illegalTransition)
            }
        }
    }

    public static let statuses = ["PENDING", "DELIVERED", "UNACKNOWLEDGED", "ACKNOWLEDGED", "FAILED"]

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = """
            id::text, region_id, kind, target, params::text, status, actor, reason, idempotency_key, rule_id,
            attempts, last_error, issued_at, delivered_at, acknowledged_at
            """
        public let id: String, region: String, kind: String, target: String, paramsJSON: String, status: String
        public let actor: String, reason: String, idempotencyKey: String, ruleId: String?, attempts: Int, lastError: String?
        public let issuedAt: String, deliveredAt: String?, acknowledgedAt: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); region = try row.next(); kind = try row.next(); target = try row.next()
            paramsJSON = try row.next(); status = try row.next(); actor = try row.next(); reason = try row.next()
            idempotencyKey = try row.next(); ruleId = try row.next(); attempts = try row.next(); lastError = try row.next()
            issuedAt = try row.next(); deliveredAt = try row.next(); acknowledgedAt = try row.next()
        }
    }

    public struct Event: PostgresRowDecodable, Sendable {
        public static let columns = "from_status, to_status, actor, detail, occurred_at"
        public let fromStatus: String?, toStatus: String, actor: String, detail: String?, occurredAt: String
        public init(row: inout PostgresRowReader) throws {
            fromStatus = try row.next(); toStatus = try row.next(); actor = try row.next(); detail = try row.next()
            occurredAt = try row.next()
        }
    }

    /// Issues a command, or returns the one already issued under the same idempotency key
    /// (a different command under that key is a conflict). Call inside a transaction.
    public func issue(_ command: NewCommand, traceId: String? = nil) throws -> Outcome {
        let inserted = try db.query("""
            INSERT INTO governance_commands (region_id, kind, target, params, actor, reason, idempotency_key, rule_id, trace_id)
            SELECT \(command.region), \(command.kind.rawValue), \(command.target), \(command.paramsJSON)::jsonb,
                   \(command.actor), \(command.reason), \(command.idempotencyKey), \(command.ruleId), \(traceId)
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
            guard status == "DELIVERED" || status == "UNACKNOWLEDGED" else { throw Failure.illegalTransition(status) }
            try db.query("UPDATE governance_commands SET status = 'ACKNOWLEDGED', acknowledged_at = now() WHERE id = \(id)::uuid")
            try recordEvent(id: id, from: status, to: "ACKNOWLEDGED", actor: actor, detail: detail)
            return try get(id: id)
        }
    }

    /// The command with its audit trail, as JSON.
    public func get(id: String) throws -> [UInt8] {
        guard TenantValidation.isUUID(id),
              let command = try db.query("SELECT \(columns: Row.self) FROM governance_commands WHERE id = \(id)::uuid",
                                         retryOnConnectionLoss: true).first(Row.self) else { throw Failure.notFound }
        let events = try db.query("""
            SELECT \(columns: Event.self) FROM governance_command_events WHERE command_id = \(id)::uuid ORDER BY id
            """, retryOnConnectionLoss: true).decode(Event.self)
        var json = JSONWriter(capacity: 1024)
        command.write(to: &json, events: events)
        return json.bytes
    }

    /// Newest first; the cursor is (issued_at, id).
    public func list(region: String?, status: String?, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM governance_commands
            WHERE (\(region)::text IS NULL OR region_id = \(region)) AND (\(status)::text IS NULL OR status = \(status))
              AND (\(cursor?.parts[0])::timestamptz IS NULL
                   OR (issued_at, id) < (\(cursor?.parts[0])::timestamptz, \(cursor?.parts[1])::uuid))
            ORDER BY issued_at DESC, governance_commands.id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.issuedAt, $0.id) }
    }

    /// A REIMAGE_NODE for this node was issued within the window (the rule does not repeat itself).
    /// REIMAGE_NODE commands issued for the region within the window, by anyone (the brake
    /// counts every re-image: the fleet feels them all the same).
    public func reimageCount(region: String, windowMinutes: Int) throws -> Int {
        try db.query("""
            SELECT count(*)::int FROM governance_commands WHERE region_id = \(region) AND kind = 'REIMAGE_NODE'
              AND issued_at >= now() - make_interval(mins => \(windowMinutes))
            """).decode(0, 0, as: Int.self)
    }

    public func recentReimage(region: String, node: String, windowMinutes: Int) throws -> Bool {
        try db.query("""
            SELECT 1 FROM governance_commands WHERE region_id = \(region) AND kind = 'REIMAGE_NODE' AND target = \(node)
              AND issued_at >= now() - make_interval(mins => \(windowMinutes))
            """).count > 0
    }

    // MARK: queue capacities

    /// The capacity a QUEUE_CAPACITY command sets, with the command.
    public struct QueueCapacity: PostgresRowDecodable, Sendable {
        public static let columns = """
            region_id, target, (params->>'capacity')::int, id::text, status, issued_at, acknowledged_at,
            extract(epoch FROM now() - issued_at)::int
            """
        public let region: String, queue: String, capacity: Int, commandId: String, status: String, issuedAt: String
        public let acknowledgedAt: String?, ageSeconds: Int
        public init(row: inout PostgresRowReader) throws {
            region = try row.next(); queue = try row.next(); capacity = try row.next(); commandId = try row.next()
            status = try row.next(); issuedAt = try row.next(); acknowledgedAt = try row.next(); ageSeconds = try row.next()
        }
    }

    /// Per queue of one region (or of all, nil), the newest QUEUE_CAPACITY command: with
    /// `acknowledgedOnly` the newest ACKNOWLEDGED one, else the newest not refused (a FAILED
    /// command changes nothing: the desired capacity stays what it was).
    public func queueCapacities(region: String?, acknowledgedOnly: Bool) throws -> [QueueCapacity] {
        try db.query("""
            SELECT DISTINCT ON (region_id, target) \(columns: QueueCapacity.self) FROM governance_commands
            WHERE kind = 'QUEUE_CAPACITY' AND (\(region)::text IS NULL OR region_id = \(region))
              AND CASE WHEN \(acknowledgedOnly)::boolean THEN status = 'ACKNOWLEDGED' ELSE status <> 'FAILED' END
            ORDER BY region_id, target, issued_at DESC, id DESC
            """, retryOnConnectionLoss: true).decode(QueueCapacity.self)
    }

    /// QUEUE_CAPACITY commands `rule` issued for the queue since anyone else last set it
    /// (the drift rule's own re-issues in a row).
    public func ruleReissues(region: String, queue: String, rule: String) throws -> Int {
        try db.query("""
            SELECT count(*)::int FROM governance_commands c
            WHERE c.region_id = \(region) AND c.kind = 'QUEUE_CAPACITY' AND c.target = \(queue) AND c.rule_id = \(rule)
              AND c.issued_at > COALESCE((SELECT max(issued_at) FROM governance_commands
                                          WHERE region_id = \(region) AND kind = 'QUEUE_CAPACITY' AND target = \(queue)
                                            AND rule_id IS DISTINCT FROM \(rule)), '-infinity')
            """).decode(0, 0, as: Int.self)
    }

    // MARK: delivery (the sync)

    /// A PENDING command due for delivery, with its region's registry.
    public struct Due: PostgresRowDecodable, Sendable {
        public static let columns = """
            c.id::text, c.region_id, c.kind, c.target, c.params::text, c.issued_at, c.attempts, r.base_url, c.status, c.trace_id
            """
        public let id: String, region: String, kind: String, target: String, paramsJSON: String, issuedAt: String
        public let attempts: Int, baseURL: String, status: String, traceId: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); region = try row.next(); kind = try row.next(); target = try row.next()
            paramsJSON = try row.next(); issuedAt = try row.next(); attempts = try row.next(); baseURL = try row.next()
            status = try row.next(); traceId = try row.next()
        }
    }

    /// Advisory-lock namespace of regions whose registry is being sent a command ("GC").
    static let regionLockNamespace: Int32 = 0x4743

    /// Claims the oldest open command of a region nobody is sending to, on any host, when it
    /// is due: the region is held by a transaction-level advisory lock until this transaction
    /// (the delivery) ends. A region's commands go strictly in the order issued — a later one
    /// never overtakes one waiting for its retry (QUEUE_CAPACITY 10 then 20 must end at 20).
    public func claimNext() throws -> Due? {
        let regions = try db.query("""
            SELECT region_id FROM governance_commands
            WHERE status IN ('PENDING', 'UNACKNOWLEDGED') AND next_attempt_at <= now()
            GROUP BY region_id ORDER BY min(next_attempt_at) LIMIT 64
            """).column(0, as: String.self)
        for region in regions where try db.tryTransactionLock(namespace: Self.regionLockNamespace, name: region) {
            if let head = try db.query("""
                SELECT \(columns: Head.self)
                FROM governance_commands c JOIN regions r ON r.id = c.region_id
                WHERE c.region_id = \(region) AND c.status IN ('PENDING', 'UNACKNOWLEDGED')
                ORDER BY c.issued_at, c.id LIMIT 1 FOR UPDATE OF c SKIP LOCKED
                """).first(Head.self), head.due {
                return head.command
            }
        }
        return nil
    }

    /// A region's oldest open command and whether it is due.
    private struct Head: PostgresRowDecodable {
        static let columns = Due.columns + ", c.next_attempt_at <= now()"
        let command: Due, due: Bool
        init(row: inout PostgresRowReader) throws {
            command = try Due(row: &row)
            due = try row.next()
        }
    }

    /// Records a delivery attempt: DELIVERED, FAILED, or still PENDING until `retryAfterSeconds`.
    public func recordDelivery(id: String, from previous: String = "PENDING", status: String, attempts: Int, error: String?,
                               retryAfterSeconds delay: Double) throws {
        try db.query("""
            UPDATE governance_commands SET status = \(status), attempts = \(attempts), last_error = \(error),
                   delivered_at = CASE WHEN \(status) = 'DELIVERED' THEN now() ELSE delivered_at END,
                   next_attempt_at = now() + make_interval(secs => \(delay))
            WHERE id = \(id)::uuid
            """)
        if status != "PENDING" {
            try recordEvent(id: id, from: previous, to: status, actor: "controlplane-sync", detail: error ?? "registry accepted the command")
        }
    }

    /// Commands DELIVERED longer than `seconds` ago and not acknowledged: UNACKNOWLEDGED, due
    /// for delivery again under the same commandId (the registry applies it once). Returns their ids.
    public func markUnacknowledged(olderThanSeconds seconds: Int) throws -> [String] {
        try db.transaction { db in
            let rows = try db.query("""
                UPDATE governance_commands SET status = 'UNACKNOWLEDGED', next_attempt_at = now()
                WHERE status = 'DELIVERED' AND delivered_at < now() - make_interval(secs => \(seconds))
                RETURNING id::text
                """)
            let ids = try rows.column(0, as: String.self)
            for id in ids {
                try GovernanceCommandStore(db: db).recordEvent(id: id, from: "DELIVERED", to: "UNACKNOWLEDGED", actor: "controlplane-sync",
                                                              detail: "no acknowledgement within \(seconds) s; delivering again")
            }
            return ids
        }
    }

    public func unacknowledgedCount() throws -> Int {
        try db.query("SELECT count(*)::int FROM governance_commands WHERE status = 'UNACKNOWLEDGED'", retryOnConnectionLoss: true)
            .decode(0, 0, as: Int.self)
    }

    /// Commands that need an operator's eye: failed, or delivered and never acknowledged.
    public func attentionCounts() throws -> (failed: Int, unacknowledged: Int) {
        let rows = try db.query("""
            SELECT count(*) FILTER (WHERE status = 'FAILED')::int, count(*) FILTER (WHERE status = 'UNACKNOWLEDGED')::int
            FROM governance_commands
            """, retryOnConnectionLoss: true)
        return (try rows.decode(0, 0, as: Int.self), try rows.decode(0, 1, as: Int.self))
    }

    /// Waiting, given up on, and the oldest waiting one's age (`/internal/metrics`).
    public func backlog() throws -> OutboxBacklog {
        try db.query("""
            SELECT (SELECT count(*)::int FROM governance_commands WHERE status = 'PENDING') AS pending,
                   (SELECT count(*)::int FROM governance_commands WHERE status = 'FAILED') AS dead,
                   (SELECT extract(epoch FROM now() - min(issued_at))::float8 FROM governance_commands WHERE status = 'PENDING') AS oldest_pending_seconds
            """, retryOnConnectionLoss: true).first(OutboxBacklog.self)!
    }
}

extension GovernanceCommandStore.Row {
    public func write(to json: inout JSONWriter, events: [GovernanceCommandStore.Event]?) {
        json.beginObject()
        json.key("id"); json.string(id)
        json.key("region"); json.string(region)
        json.key("kind"); json.string(kind)
        json.key("target"); json.string(target)
        json.key("params"); json.raw(Array(paramsJSON.utf8))
        json.key("status"); json.string(status)
        json.key("actor"); json.string(actor)
        json.key("reason"); json.string(reason)
        json.key("idempotencyKey"); json.string(idempotencyKey)
        json.key("ruleId"); json.string(ruleId)
        json.key("attempts"); json.int(attempts)
        json.key("lastError"); json.string(lastError)
        json.key("issuedAt"); json.timestamp(issuedAt)
        json.key("deliveredAt"); json.timestamp(deliveredAt)
        json.key("acknowledgedAt"); json.timestamp(acknowledgedAt)
        if let events {
            json.key("audit")
            json.beginArray()
            for event in events {
                json.beginObject()
                json.key("fromStatus"); json.string(event.fromStatus)
                json.key("toStatus"); json.string(event.toStatus)
                json.key("actor"); json.string(event.actor)
                json.key("detail"); json.string(event.detail)
                json.key("occurredAt"); json.timestamp(event.occurredAt)
                json.endObject()
            }
            json.endArray()
        }
        json.endObject()
    }
}
