import Postgres

/// `trial_rate_counters`: the funnel's abuse limits, one counter per scope, key and window.
public struct TrialRateCounterStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public enum Scope: String, Sendable {
        case mailboxDay = "mailbox_day", domainHour = "domain_hour", domainDay = "domain_day", globalHour = "global_hour"
        case networkDraftsHour = "network_drafts_hour"

        var window: String { self == .mailboxDay || self == .domainDay ? "day" : "hour" }
    }

    public struct Limit: Sendable {
        public let scope: Scope, key: String, max: Int
        public init(_ scope: Scope, key: String, max: Int) { self.scope = scope; self.key = key; self.max = max }
    }

    /// Takes one unit from every counter, or none: the rows are made, then locked in key order
    /// (no deadlock between requests), then checked and incremented together. Call inside the
    /// step's transaction. Returns the first limit that is spent, with the seconds until its
    /// window ends, or nil when the unit was taken.
    public func take(_ limits: [Limit]) throws -> (limit: Limit, retryAfterSeconds: Int)? {
        let ordered = limits.sorted { ($0.scope.rawValue, $0.key) < ($1.scope.rawValue, $1.key) }
        let scopes = PostgresBind(textArray: ordered.map(\.scope.rawValue)), keys = PostgresBind(textArray: ordered.map(\.key))
        let windows = PostgresBind(textArray: ordered.map(\.scope.window))
        try db.query("""
            INSERT INTO trial_rate_counters (scope, key, window_start)
            SELECT s, k, date_trunc(w, now()) FROM unnest(\(bind: scopes)::text[], \(bind: keys)::text[], \(bind: windows)::text[]) AS u (s, k, w)
            ON CONFLICT DO NOTHING
            """)
        let counts = try db.query("""
            SELECT c.count, extract(epoch FROM date_trunc(u.w, now()) + ('1 ' || u.w)::interval - now())::int + 1
            FROM unnest(\(bind: scopes)::text[], \(bind: keys)::text[], \(bind: windows)::text[]) WITH ORDINALITY AS u (s, k, w, n)
            JOIN trial_rate_counters c ON c.scope = u.s AND c.key = u.k AND c.window_start = date_trunc(u.w, now())
            ORDER BY u.n FOR UPDATE OF c
            """)
        for (index, limit) in ordered.enumerated() where try counts.decode(index, 0, as: Int.self) >= limit.max {
            return (limit, try counts.decode(index, 1, as: Int.self))
        }
        try db.query("""
            UPDATE trial_rate_counters c SET count = c.count + 1
            FROM unnest(\(bind: scopes)::text[], \(bind: keys)::text[], \(bind: windows)::text[]) AS u (s, k, w)
            WHERE c.scope = u.s AND c.key = u.k AND c.window_start = date_trunc(u.w, now())
            """)
        return nil
    }

    /// What the global hourly send budget has used (for the metrics).
    public func globalSendsThisHour() throws -> Int {
        try db.query("""
            SELECT COALESCE(max(count), 0)::int FROM trial_rate_counters
            WHERE scope = 'global_hour' AND window_start = date_trunc('hour', now())
            """, retryOnConnectionLoss: true).decode(0, 0, as: Int.self)
    }

    /// Windows that ended more than a day ago (the health sweep).
    public func purgeEnded() throws -> Int {
        try db.query("DELETE FROM trial_rate_counters WHERE window_start < now() - interval '2 days'").affectedRows
    }
}
