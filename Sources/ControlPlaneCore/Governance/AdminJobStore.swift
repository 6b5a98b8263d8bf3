import Postgres

/// `admin_jobs`: operator-requested jobs (sync a region now, recover an environment), run
/// by the sync, each with its result.
public struct AdminJobStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public static let kinds = ["SYNC_REGION", "RECOVER_ENVIRONMENT"]

    public enum Failure: Error, ProblemConvertible {
        case notFound, unknownRegion
        public var problem: Problem {
            switch self {
            case .notFound: .notFound("No such admin job.")
            case .unknownRegion: .validation("region", "is not a known region")
            }
        }
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = """
            id::text, kind, region_id, status, requested_by, reason, result::text, requested_at, started_at, finished_at, trace_id
            """
        public let id: String, kind: String, region: String, status: String, requestedBy: String, reason: String
        public let result: String?, requestedAt: String, startedAt: String?, finishedAt: String?
        /// The request that asked for the job: its registry calls carry this trace.
        public let traceId: String?
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); kind = try row.next(); region = try row.next(); status = try row.next()
            requestedBy = try row.next(); reason = try row.next(); result = try row.next(); requestedAt = try row.next()
            startedAt = try row.next(); finishedAt = try row.next(); traceId = try row.next()
        }

        public func write(to json: inout JSONWriter) {
            json.beginObject()
            json.key("id"); json.string(id)
            json.key("kind"); json.string(kind)
            json.key("region"); json.string(region)
            json.key("status"); json.string(status)
            json.key("requestedBy"); json.string(requestedBy)
            json.key("reason"); json.string(reason)
            json.key("result"); if let result { json.raw(Array(result.utf8)) } else { json.null() }
            json.key("requestedAt"); json.timestamp(requestedAt)
            json.key("startedAt"); json.timestamp(startedAt)
            json.key("finishedAt"); json.timestamp(finishedAt)
            json.endObject()
        }
    }

    public func create(kind: String, region: String, requestedBy: String, reason: String, traceId: String? = nil) throws -> Row {
        guard let row = try db.query("""
            INSERT INTO admin_jobs (kind, region_id, requested_by, reason, trace_id)
            SELECT \(kind), \(region), \(requestedBy), \(reason), \(traceId) WHERE EXISTS (SELECT 1 FROM regions WHERE id = \(region))
            RETURNING \(columns: Row.self)
            """).first(Row.self) else { throw Failure.unknownRegion }
        return row
    }

    /// Newest first; the cursor is (requested_at, id).
    public func list(region: String?, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM admin_jobs
            WHERE (\(region)::text IS NULL OR region_id = \(region))
              AND (\(cursor?.parts[0])::timestamptz IS NULL
                   OR (requested_at, id) < (\(cursor?.parts[0])::timestamptz, \(cursor?.parts[1])::uuid))
            ORDER BY requested_at DESC, admin_jobs.id DESC LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.requestedAt, $0.id) }
    }

    public func get(_ id: String) throws -> Row {
        guard TenantValidation.isUUID(id),
              let row = try db.query("SELECT \(columns: Row.self) FROM admin_jobs WHERE id = \(id)::uuid",
                                     retryOnConnectionLoss: true).first(Row.self) else { throw Failure.notFound }
        return row
    }

    /// Moves the oldest PENDING job to RUNNING (committed) with a lease of `leaseSeconds`, so
    /// a crash leaves it visibly RUNNING, never run twice, until the lease runs out; the runner
    /// renews the lease while it works (`renewLease`).
    public func claimNext(leaseSeconds: Int) throws -> Row? {
        try db.query("""
            UPDATE admin_jobs SET status = 'RUNNING', started_at = now(),
                   lease_expires_at = now() + make_interval(secs => \(leaseSeconds))
            WHERE id = (SELECT id FROM admin_jobs WHERE status = 'PENDING' ORDER BY requested_at LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING \(columns: Row.self)
            """).first(Row.self)
    }

    /// Records the outcome, only while the job is still RUNNING: a runner whose lease was given
    /// up (FAILED, "runner lost") does not overwrite that. Returns whether it applied.
    @discardableResult
    public func finish(_ id: String, status: String, resultJSON: String) throws -> Bool {
        try db.query("""
            UPDATE admin_jobs SET status = \(status), result = \(resultJSON)::jsonb, finished_at = now()
            WHERE id = \(id)::uuid AND status = 'RUNNING'
            """).affectedRows == 1
    }

    /// Extends a RUNNING job's lease to `seconds` from now; false when the job is no longer
    /// RUNNING (the health sweep gave it up).
    public func renewLease(_ id: String, seconds: Int) throws -> Bool {
        try db.query("""
            UPDATE admin_jobs SET lease_expires_at = now() + make_interval(secs => \(seconds))
            WHERE id = \(id)::uuid AND status = 'RUNNING'
            """).affectedRows == 1
    }

    /// RUNNING jobs whose lease ran out (their runner died): FAILED, "runner lost". Returns
    /// their ids.
    public func failLostRunners() throws -> [String] {
        let rows = try db.query("""
            UPDATE admin_jobs SET status = 'FAILED', finished_at = now(), result = '{"error":"runner lost"}'
            WHERE status = 'RUNNING' AND lease_expires_at < now()
            RETURNING id::text
            """)
        return try rows.column(0, as: String.self)
    }

    /// Jobs by status (metrics).
    public func countsByStatus() throws -> [String: Int] {
        let rows = try db.query("SELECT status, count(*)::int FROM admin_jobs GROUP BY status", retryOnConnectionLoss: true)
        return Dictionary(uniqueKeysWithValues: zip(try rows.column(0, as: String.self), try rows.column(1, as: Int.self)))
    }

    /// Waiting, given up on, and the oldest waiting one's age (`/internal/metrics`).
    public func backlog() throws -> OutboxBacklog {
        try db.query("""
            SELECT (SELECT count(*)::int FROM admin_jobs WHERE status = 'PENDING') AS pending,
                   (SELECT count(*)::int FROM admin_jobs WHERE status = 'FAILED') AS dead,
                   (SELECT extract(epoch FROM now() - min(requested_at))::float8 FROM admin_jobs WHERE status = 'PENDING') AS oldest_pending_seconds
            """, retryOnConnectionLoss: true).first(OutboxBacklog.self)!
    }
}
