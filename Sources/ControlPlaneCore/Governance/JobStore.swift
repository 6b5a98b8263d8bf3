import OpenSSLCrypto
import Postgres

/// `jobs` and their append-only `job_revisions`: synchronized preflight jobs, each payload
/// kept as the exact bytes the registry sent (bytea, read back in binary), never re-encoded.
/// Only the sync role writes them (the database refuses anyone else).
public struct JobStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public struct Filter: Sendable {
        public var region: String?, status: String?, updatedSince: String?, updatedBefore: String?
        public init(region: String? = nil, status: String? = nil, updatedSince: String? = nil, updatedBefore: String? = nil) {
            self.region = region; self.status = status; self.updatedSince = updatedSince; self.updatedBefore = updatedBefore
        }
    }

    /// Columns of `list`, in this order (the handler encodes them straight from the result).
    public static let listColumns: StaticString = "region_id, job_id, status, updated_at, encode(payload_sha256, 'hex'), current_revision"

    /// A keyset page in (region, jobId) order.
    public func list(_ filter: Filter, after cursor: PageCursor?, limit: Int) throws -> Page<PostgresRows> {
        let rows = try db.query("""
            SELECT \(unescaped: Self.listColumns)
            FROM jobs
            WHERE (region_id, job_id) > (\(cursor?.parts[0] ?? ""), \(cursor?.parts[1] ?? ""))
              AND (\(filter.region)::text IS NULL OR region_id = \(filter.region))
              AND (\(filter.status)::text IS NULL OR status = \(filter.status))
              AND (\(filter.updatedSince)::timestamptz IS NULL OR updated_at >= \(filter.updatedSince)::timestamptz)
              AND (\(filter.updatedBefore)::timestamptz IS NULL OR updated_at < \(filter.updatedBefore)::timestamptz)
            ORDER BY region_id, job_id
            LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true)
        let count = min(rows.count, limit)
        let next = rows.count > limit
            ? PageCursor(try rows.decode(count - 1, 0, as: String.self), try rows.decode(count - 1, 1, as: String.self)) : nil
        return Page(items: rows, count: count, nextCursor: next)
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = """
            status, updated_at, node_id, current_revision, encode(payload_sha256, 'hex'), first_seen_at, last_synced_at
            """
        public let status: String, updatedAt: String, nodeId: String?, currentRevision: Int, payloadSha256: String
        public let firstSeenAt: String, lastSyncedAt: String
        public init(row: inout PostgresRowReader) throws {
            status = try row.next(); updatedAt = try row.next(); nodeId = try row.next(); currentRevision = try row.next()
            payloadSha256 = try row.next(); firstSeenAt = try row.next(); lastSyncedAt = try row.next()
        }
    }

    public func get(region: String, jobId: String) throws -> Row? {
        try db.query("SELECT \(columns: Row.self) FROM jobs WHERE region_id = \(region) AND job_id = \(jobId)",
                     retryOnConnectionLoss: true).first(Row.self)
    }

    /// Columns of `revisions` (read in binary: the payload's bytes arrive untouched).
    public static let revisionColumns: StaticString = """
        revision::text, status, updated_at_text, encode(payload_sha256, 'hex'), received_at::text, payload
        """

    public func revisions(region: String, jobId: String) throws -> PostgresRows {
        try db.query("""
            SELECT \(unescaped: Self.revisionColumns)
            FROM job_revisions WHERE region_id = \(region) AND job_id = \(jobId) ORDER BY revision
            """, retryOnConnectionLoss: true, binaryResults: true)
    }

    public struct Payload: Sendable {
        public let bytes: [UInt8], sha256: [UInt8], revision: String
    }

    /// The stored bytes of a revision (the current one when `revision` is nil).
    public func payload(region: String, jobId: String, revision: Int?) throws -> Payload? {
        let rows = try db.query("""
            SELECT r.payload, r.payload_sha256, r.revision::text
            FROM jobs j JOIN job_revisions r ON r.region_id = j.region_id AND r.job_id = j.job_id
                 AND r.revision = COALESCE(\(revision), j.current_revision)
            WHERE j.region_id = \(region) AND j.job_id = \(jobId)
            """, retryOnConnectionLoss: true, binaryResults: true)
        guard rows.count == 1 else { return nil }
        return Payload(bytes: rows.withBytes(0, 0) { Array($0!) }, sha256: rows.withBytes(0, 1) { Array($0!) },
                       revision: try rows.decode(0, 2, as: String.self))
    }

    /// One registry page: every item and the region's next cursor, in one transaction and one
    /// round trip (`ingest_registry_page_from`), so a killed run resumes without losing or
    /// doubling a record. The page applies only if the region's cursor is still
    /// `expectedCursor` (compare-and-set): nil when another sweeper moved it first. A nil
    /// `nextCursor` keeps the stored cursor. Returns the revisions added. Hot path (`make bench`).
    public func ingest(region: String, sweepRun: Int64, expectedCursor: String?, nextCursor: String?,
                       items: [RegistryPage.Item], body: [UInt8]) throws -> Int? {
        var blob = [UInt8]()
        blob.reserveCapacity(items.reduce(0) { $0 + $1.payload.count })
        var offsets: [Int] = [], lengths: [Int] = [], sha256Hex: [String?] = []
        for item in items {
            offsets.append(blob.count)
            lengths.append(item.payload.count)
            let payload = body[item.payload]
            blob.append(contentsOf: payload)
            sha256Hex.append(Hex.encode(SHA256.hash(payload)))
        }
        let rows = try db.transaction { db in
            try db.query("""
                SELECT applied, revisions FROM ingest_registry_page_from(\(region), \(sweepRun), \(expectedCursor), \(nextCursor),
                    \(bind: PostgresBind(textArray: items.map(\.jobId)))::text[],
                    \(bind: PostgresBind(textArray: items.map(\.status)))::text[],
                    \(bind: PostgresBind(textArray: items.map(\.updatedAt)))::text[],
                    \(bind: PostgresBind(textArray: items.map(\.nodeId)))::text[],
                    \(bind: PostgresBind(textArray: items.map(\.partnerId)))::text[],
                    \(blob), \(bind: PostgresBind(intArray: offsets))::int[], \(bind: PostgresBind(intArray: lengths))::int[],
                    \(bind: PostgresBind(textArray: sha256Hex))::text[])
                """)
        }
        guard try rows.decode(0, 0, as: Bool.self) else { return nil }
        return try rows.decode(0, 1, as: Int.self)
    }

    /// Nodes with at least `threshold` FAILED_RUNTIME_ENVIRONMENT jobs updated within the window.
    public func runtimeFailuresByNode(region: String, windowMinutes: Int, threshold: Int) throws -> [(node: String, count: Int)] {
        let rows = try db.query("""
            SELECT node_id, count(*)::int FROM jobs
            WHERE region_id = \(region) AND status = 'FAILED_RUNTIME_ENVIRONMENT' AND node_id IS NOT NULL
              AND updated_at >= now() - make_interval(mins => \(windowMinutes))
            GROUP BY node_id HAVING count(*) >= \(threshold)
            ORDER BY node_id
            """)
        return try (0..<rows.count).map { (try rows.decode($0, 0, as: String.self), try rows.decode($0, 1, as: Int.self)) }
    }

    /// A node or partner (nil: jobs that name none) and its jobs COMPLETED_WITH_FINDINGS.
    public struct FindingCount: PostgresRowDecodable, Sendable {
        public static let columns = ""  // selected by `findings`
        public let key: String?, count: Int
        public init(row: inout PostgresRowReader) throws { key = try row.next(); count = try row.next() }
    }

    /// Jobs COMPLETED_WITH_FINDINGS updated within the window, counted by node or partner,
    /// most first (at most 1000 keys).
    public func findings(region: String, windowMinutes: Int, by column: FindingsKey) throws -> [FindingCount] {
        try db.query("""
            SELECT CASE WHEN \(column.rawValue)::text = 'partner' THEN partner_id ELSE node_id END, count(*)::int FROM jobs
            WHERE region_id = \(region) AND status = 'COMPLETED_WITH_FINDINGS'
              AND updated_at >= now() - make_interval(mins => \(windowMinutes))
            GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST LIMIT 1000
            """, retryOnConnectionLoss: true).decode(FindingCount.self)
    }

    public enum FindingsKey: String, Sendable { case node, partner }

    /// Jobs updated within the window, and how many of them are DEGRADED.
    public func degradedShare(region: String, windowMinutes: Int) throws -> (total: Int, degraded: Int) {
        let rows = try db.query("""
            SELECT count(*)::int, count(*) FILTER (WHERE status = 'DEGRADED')::int FROM jobs
            WHERE region_id = \(region) AND updated_at >= now() - make_interval(mins => \(windowMinutes))
            """)
        return (try rows.decode(0, 0, as: Int.self), try rows.decode(0, 1, as: Int.self))
    }
}
