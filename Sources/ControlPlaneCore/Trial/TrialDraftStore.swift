import Postgres

/// `trial_drafts`: manual-approval drafts, their work-email code state (only the code's
/// keyed hash) and the details submitted for review.
public struct TrialDraftStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public func create(secretHash: [UInt8], email: String) throws -> String {
        try db.query("""
            INSERT INTO trial_drafts (secret_hash, email) VALUES (\(secretHash), \(email)) RETURNING id::text
            """).decode(0, 0, as: String.self)
    }

    /// A draft as each public step sees it.
    public struct StepRow: PostgresRowDecodable, Sendable {
        public static let columns = """
            secret_hash, status, work_email, work_email_verified_at IS NOT NULL, otp_generation, otp_hash IS NOT NULL,
            COALESCE(otp_expires_at < now(), false), otp_attempts, otp_sends,
            floor(extract(epoch FROM now() - otp_requested_at))::int, submitted_at
            """
        public let secretHash: [UInt8], status: String, workEmail: String?, verified: Bool
        public let generation: Int, hasCode: Bool, expired: Bool, attempts: Int, sends: Int
        /// Whole seconds since the last code was requested (nil: never).
        public let secondsSinceCodeRequest: Int?
        public let submittedAt: String?
        public init(row: inout PostgresRowReader) throws {
            secretHash = try row.next(); status = try row.next(); workEmail = try row.next(); verified = try row.next()
            generation = try row.next(); hasCode = try row.next(); expired = try row.next(); attempts = try row.next()
            sends = try row.next(); secondsSinceCodeRequest = try row.next(); submittedAt = try row.next()
        }
    }

    /// The draft, locked `FOR UPDATE`: inside a step's transaction it serializes steps on one
    /// draft; for a plain read it lasts only for the statement.
    public func lockForStep(_ id: String) throws -> StepRow? {
        try db.query("SELECT \(columns: StepRow.self) FROM trial_drafts WHERE id = \(id)::uuid FOR UPDATE").first(StepRow.self)
    }

    /// A new code is on its way: the old one dies now (the sync makes the new one when it
    /// sends the email, so no code is ever stored in clear).
    public func startCode(_ id: String, workEmail: String) throws {
        try db.query("""
            UPDATE trial_drafts SET work_email = \(workEmail), work_email_verified_at = NULL, status = 'draft',
                   otp_generation = otp_generation + 1, otp_hash = NULL, otp_expires_at = NULL, otp_attempts = 0,
                   otp_sends = otp_sends + 1, otp_requested_at = now(), updated_at = now()
            WHERE id = \(id)::uuid
            """)
    }

    /// The sync sent the code of `generation`: keep its keyed hash until it expires.
    public func setCode(_ id: String, hash: [UInt8], lifetimeSeconds: Int) throws {
        try db.query("""
            UPDATE trial_drafts SET otp_hash = \(hash), otp_expires_at = now() + make_interval(secs => \(lifetimeSeconds)),
                   otp_attempts = 0
            WHERE id = \(id)::uuid
            """)
    }

    public func clearCode(_ id: String) throws {
        try db.query("UPDATE trial_drafts SET otp_hash = NULL WHERE id = \(id)::uuid")
    }

    /// Counts a submission before it is compared; returns the stored hash to compare with.
    public func countCodeAttempt(_ id: String, attempts: Int) throws -> [UInt8]? {
        try db.query("""
            UPDATE trial_drafts SET otp_attempts = \(attempts), updated_at = now() WHERE id = \(id)::uuid RETURNING otp_hash
            """).decodeIfPresent(0, 0, as: [UInt8].self)
    }

    public func markVerified(_ id: String) throws {
        try db.query("""
            UPDATE trial_drafts SET status = 'email_verified', work_email_verified_at = now(), otp_hash = NULL,
                   otp_expires_at = NULL, updated_at = now() WHERE id = \(id)::uuid
            """)
    }

    public struct Details: Sendable {
        public var companyName: String, contactName: String, country: String, companySize: String, useCase: String
        public init(companyName: String, contactName: String, country: String, companySize: String, useCase: String) {
            self.companyName = companyName; self.contactName = contactName; self.country = country
            self.companySize = companySize; self.useCase = useCase
        }
    }

    public func submit(_ id: String, details: Details) throws {
        try db.query("""
            UPDATE trial_drafts SET company_name = \(details.companyName), contact_name = \(details.contactName),
                   country = \(details.country), company_size = \(details.companySize), use_case = \(details.useCase),
                   status = 'submitted', submitted_at = now(), updated_at = now()
            WHERE id = \(id)::uuid
            """)
    }

    /// A draft as reviewers see it.
    public struct ReviewRow: PostgresRowDecodable, Sendable {
        public static let columns = """
            id::text, status, email, work_email, company_name, contact_name, country, company_size, use_case,
            submitted_at, tenant_id::text, created_at, COALESCE(submitted_at, created_at)
            """
        public let id: String, status: String, email: String, workEmail: String?, companyName: String?
        public let contactName: String?, country: String?, companySize: String?, useCase: String?
        public let submittedAt: String?, tenantId: String?, createdAt: String
        /// The list's sort key (with the id).
        let queuedAt: String
        public init(row: inout PostgresRowReader) throws {
            id = try row.next(); status = try row.next(); email = try row.next(); workEmail = try row.next()
            companyName = try row.next(); contactName = try row.next(); country = try row.next()
            companySize = try row.next(); useCase = try row.next(); submittedAt = try row.next()
            tenantId = try row.next(); createdAt = try row.next(); queuedAt = try row.next()
        }
    }

    /// Oldest first (by submission, else creation); the cursor is (that time, id).
    public func reviewList(status: String?, after cursor: PageCursor?, limit: Int) throws -> Page<[ReviewRow]> {
        let rows = try db.query("""
            SELECT \(columns: ReviewRow.self) FROM trial_drafts
            WHERE (\(status)::text IS NULL OR status = \(status))
              AND (\(cursor?.parts[0])::timestamptz IS NULL
                   OR (COALESCE(submitted_at, created_at), id) > (\(cursor?.parts[0])::timestamptz, \(cursor?.parts[1])::uuid))
            ORDER BY COALESCE(submitted_at, created_at), trial_drafts.id LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(ReviewRow.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.queuedAt, $0.id) }
    }

    /// One draft as the reviewer sees it.
    public func review(_ id: String) throws -> ReviewRow? {
        guard TenantValidation.isUUID(id) else { return nil }
        return try db.query("SELECT \(columns: ReviewRow.self) FROM trial_drafts WHERE id = \(id)::uuid", retryOnConnectionLoss: true)
            .first(ReviewRow.self)
    }

    /// How many drafts are in `status` (the console's "waiting for you").
    public func count(status: String) throws -> Int {
        try db.query("SELECT count(*)::int FROM trial_drafts WHERE status = \(status)", retryOnConnectionLoss: true)
            .decode(0, 0, as: Int.self)
    }

    /// What a decision needs, with the draft locked.
    public struct DecisionRow: PostgresRowDecodable, Sendable {
        public static let columns = "status, company_name, work_email"
        public let status: String, companyName: String?, workEmail: String?
        public init(row: inout PostgresRowReader) throws {
            status = try row.next(); companyName = try row.next(); workEmail = try row.next()
        }
    }

    public func lockForDecision(_ id: String) throws -> DecisionRow? {
        try db.query("SELECT \(columns: DecisionRow.self) FROM trial_drafts WHERE id = \(id)::uuid FOR UPDATE").first(DecisionRow.self)
    }

    public func markApproved(_ id: String, tenantId: String) throws {
        try db.query("UPDATE trial_drafts SET status = 'approved', tenant_id = \(tenantId)::uuid, updated_at = now() WHERE id = \(id)::uuid")
    }

    public func markRejected(_ id: String) throws {
        try db.query("UPDATE trial_drafts SET status = 'rejected', updated_at = now() WHERE id = \(id)::uuid")
    }

    // MARK: retention

    /// Drafts never submitted (`draft`, `email_verified`) created more than `days` ago, at most
    /// `batch`, locked for deletion (drafts a request is working on are skipped this time).
    public func lockUnsubmitted(olderThanDays days: Int, batch: Int) throws -> [String] {
        try db.query("""
            SELECT id::text FROM trial_drafts
            WHERE status IN ('draft', 'email_verified') AND created_at < now() - make_interval(days => \(days))
            ORDER BY created_at LIMIT \(batch) FOR UPDATE SKIP LOCKED
            """).column(0, as: String.self)
    }

    public func delete(_ ids: [String]) throws -> Int {
        try db.query("DELETE FROM trial_drafts WHERE id = ANY (\(bind: PostgresBind(textArray: ids))::uuid[])").affectedRows
    }

    /// Decided drafts need no code any more: its hash and expiry go (the rest stays for review and audit).
    public func clearDecidedCodes() throws -> Int {
        try db.query("""
            UPDATE trial_drafts SET otp_hash = NULL, otp_expires_at = NULL
            WHERE status IN ('approved', 'rejected') AND otp_hash IS NOT NULL
            """).affectedRows
    }
}
