import Postgres

/// Queue capacities as managed state: per region and queue, what was asked (the newest
/// QUEUE_CAPACITY command not refused), what the registry acknowledged (the newest
/// ACKNOWLEDGED one) and what it reports (its last `GET /v1/registry/queues`).
public struct QueueCapacities {
    public struct Entry: Sendable {
        public let region: String, queue: String
        public let desired: GovernanceCommandStore.QueueCapacity?
        public let acknowledged: GovernanceCommandStore.QueueCapacity?
        public let reported: QueueReportStore.Row?

        /// Reported minus desired, when both are known.
        public var drift: Int? {
            guard let desired, let reported else { return nil }
            return reported.capacity - desired.capacity
        }
        public var drifting: Bool { (drift ?? 0) != 0 }

        /// `{queue, desired, acknowledged, reported, drift}` as the control API serves it.
        public func write(to json: inout JSONWriter) {
            json.beginObject()
            json.key("queue"); json.string(queue)
            for (name, command) in [("desired", desired), ("acknowledged", acknowledged)] {
                json.key(name)
                guard let command else { json.null(); continue }
                json.beginObject()
                json.key("capacity"); json.int(command.capacity)
                json.key("commandId"); json.string(command.commandId)
                json.key("status"); json.string(command.status)
                json.key("issuedAt"); json.timestamp(command.issuedAt)
                if name == "acknowledged" { json.key("acknowledgedAt"); json.timestamp(command.acknowledgedAt) }
                json.endObject()
            }
            json.key("reported")
            if let reported {
                json.beginObject()
                json.key("capacity"); json.int(reported.capacity)
                json.key("depth"); json.int(reported.depth)
                json.key("reportedAt"); json.timestamp(reported.reportedAt)
                json.endObject()
            } else {
                json.null()
            }
            json.key("drift")
            if let drift { json.int(drift) } else { json.null() }
            json.endObject()
        }
    }

    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    /// One region's queues (or every region's, nil), in region and queue order.
    public func entries(region: String?) throws -> [Entry] {
        let commands = GovernanceCommandStore(db: db)
        struct Key: Hashable { let region: String, queue: String }
        let desired = Dictionary(try commands.queueCapacities(region: region, acknowledgedOnly: false).map { (Key(region: $0.region, queue: $0.queue), $0) },
                                 uniquingKeysWith: { first, _ in first })
        let acknowledged = Dictionary(try commands.queueCapacities(region: region, acknowledgedOnly: true).map { (Key(region: $0.region, queue: $0.queue), $0) },
                                      uniquingKeysWith: { first, _ in first })
        let reported = Dictionary(try QueueReportStore(db: db).list(region: region).map { (Key(region: $0.region, queue: $0.queue), $0) },
                                  uniquingKeysWith: { first, _ in first })
        let keys = Set(desired.keys).union(acknowledged.keys).union(reported.keys)
            .sorted { ($0.region, $0.queue) < ($1.region, $1.queue) }
        return keys.map { Entry(region: $0.region, queue: $0.queue, desired: desired[$0], acknowledged: acknowledged[$0], reported: reported[$0]) }
    }
}
