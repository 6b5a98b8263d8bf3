import Postgres

/// `provisioning_callbacks`: the `webhook-id` of every callback applied, so each is applied once.
public struct ProvisioningCallbackStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    /// True when this `webhook-id` is new (and is now recorded); false for a replay.
    public func recordOnce(webhookId: String, tenantId: String, event: String) throws -> Bool {
        try db.query("""
            INSERT INTO provisioning_callbacks (webhook_id, tenant_id, event) VALUES (\(webhookId), \(tenantId)::uuid, \(event))
            ON CONFLICT (webhook_id) DO NOTHING RETURNING 1
            """).count == 1
    }
}
