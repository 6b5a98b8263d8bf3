import Foundation
import Postgres

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

    /// A tenant that is not deprovisioned has this contact domain.
    public func hasLiveTenant(contactDomain domain: String) throws -> Bool {
        try db.query("""
            SELECT EXISTS (SELECT 1 FROM tenants_master WHERE contact_domain = \(domain) AND status <> 'deprovisioned')
            """).decode(0, 0, as: Bool.self)
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
                RETURNING \(unescaped: Self.columns)
                """)
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
                WHERE id = \(id)::uuid RETURNING \(unescaped: Self.columns)
                """)
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
            WHERE id = \(id)::uuid RETURNING \(unescaped: Self.columns)
            """)
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

    /// A keyset page in id order; the cursor is the last id. Hot path (`make bench`).
    public func directoryPage(after cursor: PageCursor?, limit: Int, filter: DirectoryFilter) throws -> Page<PostgresRows> {
        let after = cursor?.parts[0] ?? Self.firstId
        // Pollers mostly ask for unfiltered pages: a statement without the optional
        // `($n IS NULL OR …)` predicates costs PostgreSQL a tenth less CPU per page (it
        // plans every execution afresh either way, as `LIMIT $n` makes the generic plan look costlier).
        let rows = try filter.isEmpty
            ? db.query("""
                SELECT \(unescaped: Self.columns) FROM tenants_master
                WHERE id > \(after)::uuid ORDER BY id LIMIT \(limit + 1)
                """, retryOnConnectionLoss: true)
            : db.query("""
                SELECT \(unescaped: Self.columns) FROM tenants_master
                WHERE id > \(after)::uuid
                  AND (\(filter.status)::text IS NULL OR status = \(filter.status))
                  AND (\(filter.connectorKind)::text IS NULL OR connector_kind = \(filter.connectorKind))
                  AND (\(filter.updatedSince)::timestamptz IS NULL OR updated_at >= \(filter.updatedSince)::timestamptz)
                ORDER BY id LIMIT \(limit + 1)
                """, retryOnConnectionLoss: true)
        let count = min(rows.count, limit)
        let next = rows.count > limit ? PageCursor(try rows.decode(count - 1, 0, as: String.self)) : nil
        return Page(items: rows, count: count, nextCursor: next)
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
