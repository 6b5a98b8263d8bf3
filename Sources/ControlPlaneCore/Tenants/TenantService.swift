import Postgres

/// Tenant lifecycle for every surface (API, cpctl, trial approval, provisioning callbacks).
/// Each change is one transaction: the tenant row, its `tenant_events` row, the webhook
/// outbox rows that announce it and one `audit_log` row, so an event exists exactly when its
/// change was committed. (A caller that audits the larger change itself, as a trial approval
/// does, passes `audited: false`.)
public struct TenantService {
    public let db: PostgresConnection
    public let actor: String
    public let traceId: String?
    public let audited: Bool

    public init(db: PostgresConnection, actor: String, traceId: String? = nil, audited: Bool = true) {
        self.db = db
        self.actor = actor
        self.traceId = traceId
        self.audited = audited
    }

    private func audit(_ db: PostgresConnection, _ action: String, tenant id: String, reason: String?, summary: String?) throws {
        guard audited else { return }
        try AuditLogStore(db: db).record(.init(actor: actor, traceId: traceId, action: action, target: "tenant:\(id)", reason: reason,
                                               summary: summary))
    }

    /// Creates the tenant (`pending`) and requests its provisioning; returns the tenant JSON.
    public func create(_ tenant: TenantStore.NewTenant, reason: String? = nil) throws -> [UInt8] {
        try db.transaction { db in
            let created = try TenantStore(db: db).insert(tenant)
            let id = try created.decode(0, "id", as: String.self)
            try TenantEventStore(db: db).record(tenantId: id, from: nil, to: TenantStatus.pending.rawValue, actor: actor, reason: reason,
                                                traceId: traceId)
            try WebhookOutboxStore(db: db).enqueue(event: "tenant.created", data: try TenantJSON.encode(created), traceId: traceId)
            try audit(db, "tenant.create", tenant: id, reason: reason, summary: "slug \(tenant.slug), provisioning requested")
            return try apply(.requestProvisioning, to: id, in: db, reason: reason, audit: false).json
        }
    }

    public func get(_ id: String) throws -> [UInt8] {
        try TenantJSON.encode(try TenantStore(db: db).get(id))
    }

    public func events(_ id: String, after cursor: PageCursor?, limit: Int) throws -> Page<[TenantEventStore.Row]> {
        try TenantStore(db: db).requireExists(id)
        return try TenantEventStore(db: db).list(tenantId: id, after: cursor, limit: limit)
    }

    /// Applies a lifecycle action; 404/409 failures change nothing.
    public func perform(_ action: TenantAction, on id: String, reason: String?, siteHostname: String? = nil) throws -> [UInt8] {
        guard TenantValidation.isUUID(id) else { throw TenantFailure.notFound }
        return try db.transaction { db in
            try apply(action, to: id, in: db, reason: reason, siteHostname: siteHostname).json
        }
    }

    /// Inside a transaction: lock, check the rule, update, record, announce.
    func apply(_ action: TenantAction, to id: String, in db: PostgresConnection, reason: String?,
               siteHostname: String? = nil, audit audited: Bool = true) throws -> (json: [UInt8], status: TenantStatus) {
        let tenants = TenantStore(db: db)
        let fromText = try tenants.lockStatus(id)
        guard let from = TenantStatus(rawValue: fromText), let to = action.next(from: from) else {
            throw TenantFailure.illegalTransition(from: fromText, action: action.verb)
        }
        let updated = try tenants.setStatus(id, to: to, siteHostname: siteHostname)
        try TenantEventStore(db: db).record(tenantId: id, from: fromText, to: to.rawValue, actor: actor, reason: reason, traceId: traceId)
        let json = try TenantJSON.encode(updated)
        try WebhookOutboxStore(db: db).enqueue(event: action.event, data: json, traceId: traceId)
        if audited { try audit(db, "tenant.\(action.verb)", tenant: id, reason: reason, summary: "\(fromText) → \(to.rawValue)") }
        return (json, to)
    }

    /// Sets or clears the connector kind and credential reference (already validated).
    public func setConnector(_ id: String, kind: String?, credentialRef: String?) throws -> [UInt8] {
        try db.transaction { db in
            let json = try TenantJSON.encode(try TenantStore(db: db).setConnector(id, kind: kind, credentialRef: credentialRef))
            try WebhookOutboxStore(db: db).enqueue(event: "tenant.connector_updated", data: json, traceId: traceId)
            try audit(db, "tenant.connector.update", tenant: id, reason: nil,
                      summary: "kind \(kind ?? "none"), reference \(credentialRef == nil ? "cleared" : "set")")
            return json
        }
    }

    /// A provisioner callback, applied once per `webhook-id`: the new status, or nil for a replay.
    public func applyCallback(webhookId: String, tenantId: String, event: String, action: TenantAction,
                              reason: String, siteHostname: String?) throws -> TenantStatus? {
        guard TenantValidation.isUUID(tenantId) else { throw TenantFailure.notFound }
        return try db.transaction { db in
            guard try ProvisioningCallbackStore(db: db).recordOnce(webhookId: webhookId, tenantId: tenantId, event: event) else {
                return nil
            }
            return try apply(action, to: tenantId, in: db, reason: reason, siteHostname: siteHostname).status
        }
    }
}
