import Postgres

/// Tenant reads and lifecycle writes, shared by the HTTP handlers and cpctl. Each write
/// runs in one transaction with its `tenant_events` row and its webhook outbox rows.
public struct TenantStore {
    public let db: PostgresConnection
    public let actor: String

    public init(db: PostgresConnection, actor: String) {
        self.db = db
        self.actor = actor
    }

    public enum Failure: Error, Equatable {
        case notFound
        case illegalTransition(from: String, action: String)
        case hostnameTaken
    }

    public struct NewTenant: Sendable {
        public var slug: String, displayName: String, contactEmail: String, plan: String
        public init(slug: String, displayName: String, contactEmail: String, plan: String) {
            self.slug = slug; self.displayName = displayName; self.contactEmail = contactEmail; self.plan = plan
        }
    }

    /// Creates the tenant (`pending`) and requests its provisioning; returns the tenant JSON.
    public func create(_ tenant: NewTenant, reason: String? = nil) throws -> [UInt8] {
        try db.transaction { db in
            let created = try db.query("""
                INSERT INTO tenants_master (slug, display_name, contact_email, plan)
                VALUES (\(tenant.slug), \(tenant.displayName), \(tenant.contactEmail), \(tenant.plan)) RETURNING *
                """)
            let id = try created.decode(0, "id", as: String.self)
            try recordEvent(db, tenantId: id, from: nil, to: TenantStatus.pending.rawValue, reason: reason)
            try WebhookOutbox.enqueue(db, event: "tenant.created", data: try TenantJSON.encode(created))
            return try apply(.requestProvisioning, to: id, in: db, reason: reason).json
        }
    }

    public func get(_ id: String) throws -> [UInt8] {
        guard TenantValidation.isUUID(id) else { throw Failure.notFound }
        let rows = try db.query("SELECT * FROM tenants_master WHERE id = \(id)::uuid", retryOnConnectionLoss: true)
        guard rows.count == 1 else { throw Failure.notFound }
        return try TenantJSON.encode(rows)
    }

    public func findBySlug(_ slug: String) throws -> String? {
        let rows = try db.query("SELECT id::text FROM tenants_master WHERE slug = \(slug)", retryOnConnectionLoss: true)
        return rows.count == 1 ? try rows.decode(0, 0, as: String.self) : nil
    }

    /// Applies a lifecycle action; 404/409 failures change nothing.
    public func perform(_ action: TenantAction, on id: String, reason: String?, siteHostname: String? = nil) throws -> [UInt8] {
        guard TenantValidation.isUUID(id) else { throw Failure.notFound }
        return try db.transaction { db in
            try apply(action, to: id, in: db, reason: reason, siteHostname: siteHostname).json
        }
    }

    /// Inside a transaction: lock, check the rule, update, record, announce.
    func apply(_ action: TenantAction, to id: String, in db: PostgresConnection, reason: String?,
               siteHostname: String? = nil) throws -> (json: [UInt8], status: TenantStatus) {
        let current = try db.query("SELECT status FROM tenants_master WHERE id = \(id)::uuid FOR UPDATE")
        guard current.count == 1 else { throw Failure.notFound }
        let fromText = try current.decode(0, 0, as: String.self)
        guard let from = TenantStatus(rawValue: fromText), let to = action.next(from: from) else {
            throw Failure.illegalTransition(from: fromText, action: action.verb)
        }
        let updated: PostgresRows
        do {
            updated = try db.query("""
                UPDATE tenants_master SET status = \(to.rawValue), updated_at = now(),
                       site_hostname = COALESCE(\(siteHostname), site_hostname)
                WHERE id = \(id)::uuid RETURNING *
                """)
        } catch let error as PostgresError where error.kind == .uniqueViolation {
            throw Failure.hostnameTaken
        }
        try recordEvent(db, tenantId: id, from: fromText, to: to.rawValue, reason: reason)
        let json = try TenantJSON.encode(updated)
        try WebhookOutbox.enqueue(db, event: action.event, data: json)
        return (json, to)
    }

    /// Sets or clears the connector kind and credential reference (already validated).
    public func setConnector(_ id: String, kind: String?, credentialRef: String?) throws -> [UInt8] {
        guard TenantValidation.isUUID(id) else { throw Failure.notFound }
        return try db.transaction { db in
            let updated = try db.query("""
                UPDATE tenants_master SET connector_kind = \(kind), connector_credential_ref = \(credentialRef), updated_at = now()
                WHERE id = \(id)::uuid RETURNING *
                """)
            guard updated.count == 1 else { throw Failure.notFound }
            let json = try TenantJSON.encode(updated)
            try WebhookOutbox.enqueue(db, event: "tenant.connector_updated", data: json)
            return json
        }
    }

    private func recordEvent(_ db: PostgresConnection, tenantId: String, from: String?, to: String, reason: String?) throws {
        try db.query("""
            INSERT INTO tenant_events (tenant_id, from_status, to_status, actor, reason)
            VALUES (\(tenantId)::uuid, \(from), \(to), \(actor), \(reason))
            """)
    }
}
