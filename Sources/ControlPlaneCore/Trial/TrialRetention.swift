import Postgres

/// What the funnel keeps, and for how long: drafts never submitted go after the retention with
/// their code emails, in batches, each in one transaction; decided drafts lose their codes.
public struct TrialRetention {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public struct Purged: Sendable { public var drafts = 0, emails = 0, codesCleared = 0 }

    public func purge(olderThanDays days: Int, batch: Int = 1000, maxBatches: Int = 100) throws -> Purged {
        var purged = Purged()
        for _ in 0..<maxBatches {
            let (drafts, emails) = try db.transaction { db -> (Int, Int) in
                let ids = try TrialDraftStore(db: db).lockUnsubmitted(olderThanDays: days, batch: batch)
                guard !ids.isEmpty else { return (0, 0) }
                let emails = try EmailOutboxStore(db: db).delete(draftIds: ids)
                return (try TrialDraftStore(db: db).delete(ids), emails)
            }
            purged.drafts += drafts
            purged.emails += emails
            if drafts < batch { break }
        }
        purged.codesCleared = try TrialDraftStore(db: db).clearDecidedCodes()
        return purged
    }
}
