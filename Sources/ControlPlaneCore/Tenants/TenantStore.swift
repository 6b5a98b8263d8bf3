import Foundation
import Postgres
import Synchronization

/// Why a tenant operation was refused; each is a problem for the client.
public enum TenantFailure: Error, Equatable, ProblemConvertible {
    case notFound
    case illegalTransition(from: String, action: String)
    case hostnameTaken
    case slugTaken

    public var problem: Problem {
        switch self {
        case .notFound: .notFound("No such tenant.")
        case .illegalTransition(let from, let verb): .conflict("Cannot \(verb) a tenant that is \(from).", type: .illegalTransition)
        case .hostnameTaken: .conflict("Another tenant already has this site hostname.", type: .hostnameTaken)
        case .slugTaken: .conflict("A tenant with this slug already exists.", type: .slugTaken)
        }
    }
}

/// `tenants_master`. Rows come back as libpq results that `TenantJSON` encodes straight from
/// the buffers (the directory's hot loop); every statement selects `columns`.
public struct TenantStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    /// The highest `change_version` (migration 0031) a write in this process returned: the
    /// in-memory directory catches up to it before answering, so a process reads its own
    /// writes. (A version from a transaction that rolled back is never reached; the directory
    /// lowers this mark when it sees so.)
    public static let writtenVersion = Atomic<Int64>(0)

    /// Every write returns `columns` and the row's `change_version`, noted here.
    fileprivate func noted(_ rows: PostgresRows) throws -> PostgresRows {
        if rows.count == 1, let version = try rows.decodeIfPresent(0, "change_version", as: Int64.self) {
            Self.writtenVersion.max(version, ordering: .relaxed)
        }
        return rows
    }

    /// The select list of every tenant read; `TenantJSON` finds these names once per result.
    static let columns: StaticString = """
        id, slug, display_name, status, site_hostname, plan, connector_kind, connector_credential_ref, created_at, updated_at
        """

    public struct NewTenant: Sendable {
        public var slug: String, displayName: String, contactEmail: String, plan: String
        public init(slug: String, displayName: String, contactEmail: String, plan: String) {
            self.slug = slug; self.displayName = displayName; self.contactEmail = contactEmail; self.plan = plan
        }
    }

    public func insert(_ tenant: NewTenant) throws -> PostgresRows {
        do {
            return try db.query("""
                INSERT INTO tenants_master (slug, display_name, contact_email, plan)
                VALUES (\(tenant.slug), \(tenant.displayName), \(tenant.contactEmail), \(tenant.plan))
                RETURNING \(unescaped: Self.columns), change_version
                """).noted(by: self)
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw TenantFailure.slugTaken
        }
    }

    /// One tenant's row (count 1), or `notFound`.
    public func get(_ id: String) throws -> PostgresRows {
        guard TenantValidation.isUUID(id) else { throw TenantFailure.notFound }
        let rows = try db.query("SELECT \(unescaped: Self.columns) FROM tenants_master WHERE id = \(id)::uuid",
                                retryOnConnectionLoss: true)
        guard rows.count == 1 else { throw TenantFailure.notFound }
        return rows
    }

    public func requireExists(_ id: String) throws {
        guard TenantValidation.isUUID(id),
              try db.query("SELECT 1 FROM tenants_master WHERE id = \(id)::uuid", retryOnConnectionLoss: true).count == 1 else {
            throw TenantFailure.notFound
        }
    }

    public func id(forSlug slug: String) throws -> String? {
        let rows = try db.query("SELECT id::text FROM tenants_master WHERE slug = \(slug)", retryOnConnectionLoss: true)
        return rows.count == 1 ? try rows.decode(0, 0, as: String.self) : nil
    }

    /// The status, with the row locked until the transaction ends.
    public func lockStatus(_ id: String) throws -> String {
        let rows = try db.query("SELECT status FROM tenants_master WHERE id = \(id)::uuid FOR UPDATE")
        guard rows.count == 1 else { throw TenantFailure.notFound }
        return try rows.decode(0, 0, as: String.self)
    }

    public func setStatus(_ id: String, to status: TenantStatus, siteHostname: String?) throws -> PostgresRows {
        do {
            return try db.query("""
                UPDATE tenants_master SET status = \(status.rawValue), updated_at = now(),
                       site_hostname = COALESCE(\(siteHostname), site_hostname)
                WHERE id = \(id)::uuid RETURNING \(unescaped: Self.columns), change_version
                """).noted(by: self)
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw TenantFailure.hostnameTaken
        }
    }

    /// Tenants still `provisioning` with no change for longer than `seconds`.
    public func stuckProvisioning(olderThanSeconds seconds: Int) throws -> [String] {
        let rows = try db.query("""
            SELECT id::text FROM tenants_master
            WHERE status = 'provisioning' AND updated_at < now() - make_interval(secs => \(seconds)) ORDER BY updated_at LIMIT 1000
            """)
        return try rows.column(0, as: String.self)
    }

    public func setConnector(_ id: String, kind: String?, credentialRef: String?) throws -> PostgresRows {
        guard TenantValidation.isUUID(id) else { throw TenantFailure.notFound }
        let rows = try db.query("""
            UPDATE tenants_master SET connector_kind = \(kind), connector_credential_ref = \(credentialRef), updated_at = now()
            WHERE id = \(id)::uuid RETURNING \(unescaped: Self.columns), change_version
            """).noted(by: self)
        guard rows.count == 1 else { throw TenantFailure.notFound }
        return rows
    }

    /// The directory's filters (all optional).
    public struct DirectoryFilter: Sendable {
        public var status: String?, connectorKind: String?, updatedSince: String?
        public init(status: String? = nil, connectorKind: String? = nil, updatedSince: String? = nil) {
            self.status = status; self.connectorKind = connectorKind; self.updatedSince = updatedSince
        }
        var isEmpty: Bool { status == nil && connectorKind == nil && updatedSince == nil }
    }

    static let firstId = "00000000-0000-0000-0000-000000000000"

    /// What the in-memory directory keeps of each row besides `columns`.
    private static let directoryColumns: StaticString = """
        contact_domain, coalesce(change_version, 0) AS change_version,
        (extract(epoch FROM updated_at) * 1000000)::bigint AS updated_micros
        """

    /// Every tenant, in id order, read in chunks from one REPEATABLE READ snapshot (so the
    /// result is one consistent version, and no single libpq result holds 100,000 rows).
    public func directoryEntries(chunk: Int = 5000) throws -> [TenantDirectory.Entry] {
        try db.transaction { db in
            try db.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            var entries: [TenantDirectory.Entry] = [], after = Self.firstId
            while true {
                let rows = try db.query("""
                    SELECT \(unescaped: Self.columns), \(unescaped: Self.directoryColumns) FROM tenants_master
                    WHERE id > \(after)::uuid ORDER BY id LIMIT \(chunk)
                    """)
                entries += try Self.directoryEntries(rows)
                guard rows.count == chunk, let last = entries.last else { return entries }
                after = TenantDirectory.uuidText(last.id)
            }
        }
    }

    /// At most `limit` tenants changed after `version`, in version order (the directory's
    /// delta, read in chunks like the first load; with migration 0032's index, "none" is one
    /// index probe).
    public func directoryChanges(after version: Int64, limit: Int = 5000) throws -> [TenantDirectory.Entry] {
        try Self.directoryEntries(db.query("""
            SELECT \(unescaped: Self.columns), \(unescaped: Self.directoryColumns) FROM tenants_master
            WHERE change_version > \(version) ORDER BY change_version LIMIT \(limit)
            """))
    }

    private static func directoryEntries(_ rows: PostgresRows) throws -> [TenantDirectory.Entry] {
        guard rows.count > 0 else { return [] }
        let tenant = try TenantJSON(rows)
        guard let id = rows.columnIndex("id"), let status = rows.columnIndex("status"), let kind = rows.columnIndex("connector_kind"),
              let domain = rows.columnIndex("contact_domain"), let version = rows.columnIndex("change_version"),
              let updated = rows.columnIndex("updated_micros") else {
            throw PostgresDecodingError(column: "directory", type: "tenant directory columns")
        }
        var entries: [TenantDirectory.Entry] = []
        entries.reserveCapacity(rows.count)
        for row in 0..<rows.count {
            var json = JSONWriter(capacity: 512)
            tenant.write(rows, row: row, to: &json)
            guard let bits = TenantDirectory.uuidBits(try rows.decode(row, id, as: String.self)) else {
                throw PostgresDecodingError(column: "id", type: "uuid")
            }
            entries.append(TenantDirectory.Entry(
                id: bits, status: try rows.decode(row, status, as: String.self),
                connectorKind: try rows.decodeIfPresent(row, kind, as: String.self),
                updatedMicros: try rows.decode(row, updated, as: Int64.self),
                contactDomain: try rows.decodeIfPresent(row, domain, as: String.self),
                json: Array(json.bytes[...]), version: try rows.decode(row, version, as: Int64.self)))
        }
        return entries
    }

    /// What the console lists of a tenant.
    public struct Summary: PostgresRowDecodable, Sendable {
        public static let columns = "id::text, slug, display_name, status, plan, connector_kind, updated_at"
        public let id: String, slug: String, displayName: String, status: String, plan: String, connectorKind: String?
        public let updatedAt: String
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); slug = try row.next(); displayName = try row.next(); status = try row.next()
            plan = try row.next(); connectorKind = try row.next(); updatedAt = try row.next()
        }
    }

    /// Tenants whose slug, name or contact domain contains `text` (any case), in id order; the
    /// cursor is the last id. The match runs on the expression `tenants_master_search` indexes
    /// (trigrams, migration 0022); the text's LIKE wildcards are escaped, so `%` is a percent sign.
    public func search(_ text: String?, status: String?, after cursor: PageCursor?, limit: Int) throws -> Page<[Summary]> {
        let after = cursor?.parts[0] ?? Self.firstId
        guard TenantValidation.isUUID(after) else { throw PageCursor.forged }
        let pattern = text.map { text -> String in
            let escaped = text.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            return "%" + escaped + "%"
        }
        let rows = try db.query("""
            SELECT \(columns: Summary.self) FROM tenants_master
            WHERE id > \(after)::uuid AND (\(status)::text IS NULL OR status = \(status))
              AND (\(pattern)::text IS NULL OR lower(slug || ' ' || display_name || ' ' || coalesce(contact_domain, '')) LIKE \(pattern))
            ORDER BY tenants_master.id LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Summary.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.id) }
    }

    /// How many tenants are in each status (the console's overview).
    public func countsByStatus() throws -> [(status: String, count: Int)] {
        let rows = try db.query("SELECT status, count(*)::int FROM tenants_master GROUP BY status ORDER BY status",
                                retryOnConnectionLoss: true)
        return try zip(rows.column(0, as: String.self), rows.column(1, as: Int.self)).map { ($0, $1) }
    }
}

extension PostgresRows {
    fileprivate func noted(by store: TenantStore) throws -> PostgresRows { try store.noted(self) }
}
