import Postgres

/// `service_token_usage`: per token name and UTC day, the daily quota reserved by backends and
/// the requests used and refused (flushed by each backend every second).
public struct ServiceTokenUsageStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    /// Reserves up to `want` of the day's quota; returns what was granted (0: the quota is spent)
    /// and how much of the quota is now reserved by every backend together. One round trip:
    /// the row lock orders concurrent reservations, and `last_granted` is set from the same old
    /// value as `reserved`, so no backend can be granted past the quota.
    public func reserve(name: String, day: String, want: Int, quota: Int) throws -> (granted: Int, reserved: Int) {
        let row = try db.query("""
            INSERT INTO service_token_usage AS u (token_name, day, reserved, last_granted)
            VALUES (\(name), \(day)::date, LEAST(\(want)::bigint, \(quota)::bigint), LEAST(\(want)::bigint, \(quota)::bigint))
            ON CONFLICT (token_name, day) DO UPDATE
               SET reserved = u.reserved + LEAST(\(want)::bigint, GREATEST(\(quota)::bigint - u.reserved, 0)),
                   last_granted = LEAST(\(want)::bigint, GREATEST(\(quota)::bigint - u.reserved, 0))
            RETURNING last_granted, reserved
            """, retryOnConnectionLoss: true)
        return (try row.decode(0, 0, as: Int.self), try row.decode(0, 1, as: Int.self))
    }

    public struct Counts: Sendable {
        public let name: String, day: String
        public var used: Int, limited: Int
        public init(name: String, day: String, used: Int, limited: Int) {
            self.name = name; self.day = day; self.used = used; self.limited = limited
        }
    }

    /// Adds requests used and refused since the last flush (one statement for every token).
    public func add(_ counts: [Counts]) throws {
        guard !counts.isEmpty else { return }
        try db.query("""
            INSERT INTO service_token_usage AS u (token_name, day, used, limited)
            SELECT * FROM unnest(string_to_array(\(counts.map(\.name).joined(separator: ",")), ','),
                                 string_to_array(\(counts.map(\.day).joined(separator: ",")), ',')::date[],
                                 string_to_array(\(counts.map { String($0.used) }.joined(separator: ",")), ',')::bigint[],
                                 string_to_array(\(counts.map { String($0.limited) }.joined(separator: ",")), ',')::bigint[])
            ON CONFLICT (token_name, day) DO UPDATE SET used = u.used + EXCLUDED.used, limited = u.limited + EXCLUDED.limited
            """)
    }

    public struct Today: PostgresRowDecodable, Sendable {
        public static let columns = "token_name, used, limited, reserved"
        public let name: String, used: Int, limited: Int, reserved: Int
        public init(row: inout PostgresRowReader) throws {
            name = try row.next(); used = try row.next(); limited = try row.next(); reserved = try row.next()
        }
    }

    /// Today's (UTC) counts per token name, for listings.
    public func today() throws -> [String: Today] {
        let rows = try db.query("""
            SELECT \(columns: Today.self) FROM service_token_usage WHERE day = (now() AT TIME ZONE 'UTC')::date
            """).decode(Today.self)
        return Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
