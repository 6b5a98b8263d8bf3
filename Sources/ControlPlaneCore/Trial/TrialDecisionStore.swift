import Postgres

/// `trial_decisions`: the append-only record of every approval and rejection.
public struct TrialDecisionStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public func record(draftId: String, decision: String, actor: String, reason: String?, tenantId: String? = nil) throws {
        try db.query("""
            INSERT INTO trial_decisions (draft_id, decision, actor, reason, tenant_id)
            VALUES (\(draftId)::uuid, \(decision), \(actor), \(reason), \(tenantId)::uuid)
            """)
    }
}
