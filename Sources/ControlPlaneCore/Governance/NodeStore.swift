import Postgres

/// `nodes`: the worker-node registry, as the regional registries report it. Readiness is
/// the registry's, or STALE when the last heartbeat is older than the grace.
public struct NodeStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public static let readinessValues = ["READY", "NOT_READY", "DRAINING", "STALE"]

    public struct Row: PostgresRowDecodable, Sendable {
        /// The stored columns; `list` adds the effective readiness (it depends on the grace).
        public static let columns = "region_id, node_id, container_version, readiness, last_heartbeat_at"
        public let region: String, nodeId: String, containerVersion: String, reportedReadiness: String, lastHeartbeatAt: String
        public let readiness: String
        public init(row: inout PostgresRowReader) throws {
            region = try row.next(); nodeId = try row.next(); containerVersion = try row.next()
            reportedReadiness = try row.next(); lastHeartbeatAt = try row.next(); readiness = try row.next()
        }

        /// A node as the control API and cpctl show it.
        public func write(to json: inout JSONWriter) {
            json.beginObject()
            json.key("region"); json.string(region)
            json.key("nodeId"); json.string(nodeId)
            json.key("containerVersion"); json.string(containerVersion)
            json.key("reportedReadiness"); json.string(reportedReadiness)
            json.key("lastHeartbeatAt"); json.timestamp(lastHeartbeatAt)
            json.key("readiness"); json.string(readiness)
            json.endObject()
        }
    }

    public struct Filter: Sendable {
        public var region: String?, version: String?, readiness: String?
        public init(region: String? = nil, version: String? = nil, readiness: String? = nil) {
            self.region = region; self.version = version; self.readiness = readiness
        }
    }

    /// In (region, node) order; the cursor is that pair.
    public func list(_ filter: Filter, graceSeconds grace: Int, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let rows = try db.query("""
            SELECT \(columns: Row.self),
                   CASE WHEN last_heartbeat_at < now() - make_interval(secs => \(grace)) THEN 'STALE' ELSE readiness END
            FROM nodes
            WHERE (region_id, node_id) > (\(cursor?.parts[0] ?? ""), \(cursor?.parts[1] ?? ""))
              AND (\(filter.region)::text IS NULL OR region_id = \(filter.region))
              AND (\(filter.version)::text IS NULL OR container_version = \(filter.version))
              AND (\(filter.readiness)::text IS NULL OR
                   CASE WHEN last_heartbeat_at < now() - make_interval(secs => \(grace)) THEN 'STALE' ELSE readiness END
                   = \(filter.readiness))
            ORDER BY region_id, node_id
            LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.region, $0.nodeId) }
    }

    public struct VersionCount: PostgresRowDecodable, Sendable {
        /// `versionCensus` adds the ready count (it depends on the grace).
        public static let columns = "container_version, count(*)::int"
        public let containerVersion: String, nodes: Int, ready: Int
        public init(row: inout PostgresRowReader) throws {
            containerVersion = try row.next(); nodes = try row.next(); ready = try row.next()
        }
    }

    /// How many of the region's nodes run each version, and how many of those are ready.
    /// How many nodes the region has reported (any readiness).
    public func count(region: String) throws -> Int {
        try db.query("SELECT count(*)::int FROM nodes WHERE region_id = \(region)").decode(0, 0, as: Int.self)
    }

    public func versionCensus(region: String, graceSeconds grace: Int) throws -> [VersionCount] {
        try db.query("""
            SELECT \(columns: VersionCount.self),
                   count(*) FILTER (WHERE readiness = 'READY' AND last_heartbeat_at >= now() - make_interval(secs => \(grace)))::int
            FROM nodes WHERE region_id = \(region) GROUP BY container_version ORDER BY count(*) DESC, container_version
            """, retryOnConnectionLoss: true).decode(VersionCount.self)
    }

    public struct Report: Sendable {
        public let nodeId: String, containerVersion: String, readiness: String, lastHeartbeatAt: String
        public init(nodeId: String, containerVersion: String, readiness: String, lastHeartbeatAt: String) {
            self.nodeId = nodeId; self.containerVersion = containerVersion; self.readiness = readiness
            self.lastHeartbeatAt = lastHeartbeatAt
        }
    }

    /// The registry's node list, in one statement; a newer heartbeat clears `stale_since`.
    public func upsert(region: String, _ nodes: [Report]) throws {
        try db.query("""
            INSERT INTO nodes AS n (region_id, node_id, container_version, readiness, last_heartbeat_at)
            SELECT \(region), id, version, ready, beat::timestamptz
            FROM unnest(\(bind: PostgresBind(textArray: nodes.map(\.nodeId)))::text[],
                        \(bind: PostgresBind(textArray: nodes.map(\.containerVersion)))::text[],
                        \(bind: PostgresBind(textArray: nodes.map(\.readiness)))::text[],
                        \(bind: PostgresBind(textArray: nodes.map(\.lastHeartbeatAt)))::text[])
                 AS t(id, version, ready, beat)
            ON CONFLICT (region_id, node_id) DO UPDATE
               SET container_version = EXCLUDED.container_version, readiness = EXCLUDED.readiness,
                   last_heartbeat_at = EXCLUDED.last_heartbeat_at, updated_at = now(),
                   stale_since = CASE WHEN EXCLUDED.last_heartbeat_at > n.last_heartbeat_at THEN NULL ELSE n.stale_since END
            """)
    }

    /// Marks nodes whose heartbeat is older than the grace; returns how many were newly marked.
    public func markStale(graceSeconds grace: Int) throws -> Int {
        try db.query("""
            UPDATE nodes SET stale_since = now()
            WHERE stale_since IS NULL AND last_heartbeat_at < now() - make_interval(secs => \(grace))
            """).affectedRows
    }

    /// Nodes of the region that are NOT_READY or silent past the grace (environment recovery).
    public func unhealthy(region: String, graceSeconds grace: Int) throws -> [String] {
        let rows = try db.query("""
            SELECT node_id FROM nodes WHERE region_id = \(region)
              AND (readiness = 'NOT_READY' OR last_heartbeat_at < now() - make_interval(secs => \(grace)))
            ORDER BY node_id
            """)
        return try rows.column(0, as: String.self)
    }

    /// Nodes whose last heartbeat is older than the grace, across regions (the console's overview).
    public func staleCount(graceSeconds grace: Int) throws -> Int {
        try db.query("SELECT count(*)::int FROM nodes WHERE last_heartbeat_at < now() - make_interval(secs => \(grace))",
                     retryOnConnectionLoss: true).decode(0, 0, as: Int.self)
    }
}
