import Foundation
import Postgres

/// `email_domains` and its `email_domains_version` (bumped by a trigger on every change,
/// which also notifies the backends' dictionary watchers).
public struct EmailDomainStore {
    public let db: PostgresConnection
    public init(db: PostgresConnection) { self.db = db }

    public enum Failure: Error, ProblemConvertible {
        case notFound
        public var problem: Problem { .notFound("The domain is not in the dictionary.") }
    }

    /// Lines of a list as domains: normalized, deduplicated; blank and `#` lines skipped.
    public static func normalize(_ lines: [String]) -> (valid: [String], invalid: [String]) {
        var valid: [String] = [], invalid: [String] = []
        var seen = Set<String>()
        for line in lines {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty || text.hasPrefix("#") { continue }
            if case .success(let domain) = EmailAddress.normalizeDomain(Array(text.utf8)) {
                if seen.insert(domain).inserted { valid.append(domain) }
            } else {
                invalid.append(text)
            }
        }
        return (valid, invalid)
    }

    /// Inserts or re-kinds the domains in one statement (one version bump); returns how many rows changed.
    @discardableResult
    public func upsert(_ domains: [String], kind: String, source: String, actor: String) throws -> Int {
        guard !domains.isEmpty else { return 0 }
        return try db.query("""
            INSERT INTO email_domains (domain, kind, source, added_by)
            SELECT d, \(kind), \(source), \(actor) FROM unnest(\(bind: PostgresBind(textArray: domains))::text[]) AS d
            ON CONFLICT (domain) DO UPDATE SET kind = EXCLUDED.kind, source = EXCLUDED.source, added_by = EXCLUDED.added_by,
                   added_at = now()
            WHERE email_domains.kind IS DISTINCT FROM EXCLUDED.kind
            """).affectedRows
    }

    public func delete(_ domain: String) throws {
        guard try db.query("DELETE FROM email_domains WHERE domain = \(domain)").affectedRows == 1 else { throw Failure.notFound }
    }

    /// Removes those listed; returns how many were there.
    public func delete(_ domains: [String]) throws -> Int {
        try db.query("DELETE FROM email_domains WHERE domain = ANY (\(bind: PostgresBind(textArray: domains))::text[])").affectedRows
    }

    public struct Row: PostgresRowDecodable, Sendable {
        public static let columns = "domain, kind, source, added_at, added_by"
        public let domain: String, kind: String, source: String?, addedAt: String, addedBy: String?
        public init(row: inout PostgresRowReader) throws {
            domain = try row.next(); kind = try row.next(); source = try row.next(); addedAt = try row.next(); addedBy = try row.next()
        }
    }

    /// In domain order; the cursor is the last domain.
    /// In domain order, of one kind and/or containing `text`; the cursor is the last domain.
    public func list(kind: String?, containing text: String? = nil, after cursor: PageCursor?, limit: Int) throws -> Page<[Row]> {
        let rows = try db.query("""
            SELECT \(columns: Row.self) FROM email_domains
            WHERE domain > \(cursor?.parts[0] ?? "") AND (\(kind)::text IS NULL OR kind = \(kind))
              AND (\(text)::text IS NULL OR strpos(domain, lower(\(text))) > 0)
            ORDER BY domain LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true).decode(Row.self)
        return Page(rows: rows, limit: limit) { PageCursor($0.domain) }
    }

    public func version() throws -> Int64 {
        try db.query("SELECT version FROM email_domains_version", retryOnConnectionLoss: true).decode(0, 0, as: Int64.self)
    }

    /// Every domain with the version that describes them, read in one snapshot.
    public func snapshot() throws -> (version: Int64, domains: [(String, DomainKind)]) {
        try db.transaction { db in
            try db.execute(script: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            let version = try db.query("SELECT version FROM email_domains_version").decode(0, 0, as: Int64.self)
            let rows = try db.query("SELECT domain, kind FROM email_domains")
            var domains: [(String, DomainKind)] = []
            domains.reserveCapacity(rows.count)
            for row in 0..<rows.count {
                guard let kind = DomainKind(rawValue: try rows.decode(row, 1, as: String.self)) else { continue }
                domains.append((try rows.decode(row, 0, as: String.self), kind))
            }
            return (version, domains)
        }
    }
}
