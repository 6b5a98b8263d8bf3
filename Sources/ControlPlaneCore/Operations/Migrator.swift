import Foundation
import Postgres

/// Applies `sql/NNNN_name.sql` files in order, one transaction each, recording version,
/// checksum, time and who applied it in `schema_history`, under an advisory lock so
/// concurrent runs queue instead of interleaving.
public struct Migrator {
    /// `hashtext('controlplane.migrate')`-style fixed key, shared by every cpctl.
    public static let advisoryLockKey: Int64 = 0x6370_6d69_6772_6174  // "cpmigrat"

    public enum State: String, Sendable { case applied, pending, edited, missingFile = "missing-file" }

    public struct Entry: Sendable {
        public let version: Int
        public let description: String
        public let state: State
        public let installedOn: String?
        public let installedBy: String?
        public let checksum: String
    }

    let connection: PostgresConnection
    let files: [MigrationFile]

    public init(connection: PostgresConnection, files: [MigrationFile]) {
        self.connection = connection
        self.files = files
    }

    struct Applied {
        let version: Int
        let description: String
        let checksum: String
        let installedOn: String
        let installedBy: String
    }

    func appliedMigrations() throws -> [Applied] {
        let exists = try connection.query("SELECT to_regclass('schema_history') IS NOT NULL")
        guard try exists.decode(0, 0, as: Bool.self) else { return [] }
        let rows = try connection.query("""
            SELECT version, description, checksum,
                   to_char(installed_on AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), installed_by
            FROM schema_history ORDER BY version
            """)
        return try (0..<rows.count).map { row in
            Applied(version: try rows.decode(row, 0), description: try rows.decode(row, 1), checksum: try rows.decode(row, 2),
                    installedOn: try rows.decode(row, 3), installedBy: try rows.decode(row, 4))
        }
    }

    public func status() throws -> [Entry] {
        let applied = try appliedMigrations()
        let appliedByVersion = Dictionary(uniqueKeysWithValues: applied.map { ($0.version, $0) })
        var entries: [Entry] = files.map { file in
            if let record = appliedByVersion[file.version] {
                return Entry(version: file.version, description: file.description,
                             state: record.checksum == file.checksum ? .applied : .edited,
                             installedOn: record.installedOn, installedBy: record.installedBy, checksum: file.checksum)
            }
            return Entry(version: file.version, description: file.description, state: .pending,
                         installedOn: nil, installedBy: nil, checksum: file.checksum)
        }
        let fileVersions = Set(files.map(\.version))
        for record in applied where !fileVersions.contains(record.version) {
            entries.append(Entry(version: record.version, description: record.description, state: .missingFile,
                                 installedOn: record.installedOn, installedBy: record.installedBy, checksum: record.checksum))
        }
        return entries.sorted { $0.version < $1.version }
    }

    /// Records every pending migration up to `version` (all when nil) as applied without running
    /// it: for a database built from the same files with `psql -f`. Refuses when an applied file
    /// was edited or is missing. Returns the versions recorded.
    @discardableResult
    public func baseline(upTo version: Int? = nil, installedFrom: String) throws -> [Int] {
        try connection.advisoryLock(Self.advisoryLockKey)
        defer { try? connection.advisoryUnlock(Self.advisoryLockKey) }
        let pending = try pendingFiles().filter { $0.version <= (version ?? Int.max) }
        return try connection.transaction { db in
            for file in pending { try record(file, installedFrom: installedFrom + " (baseline)", milliseconds: 0, in: db) }
            return pending.map(\.version)
        }
    }

    /// The files not applied yet, in order; refuses when an applied file was edited or is missing.
    public func pendingFiles() throws -> [MigrationFile] {
        let entries = try status()
        let edited = entries.filter { $0.state == .edited }.map(\.version)
        if !edited.isEmpty { throw MigrationError.editedAfterApply(edited) }
        let missing = entries.filter { $0.state == .missingFile }.map(\.version)
        if !missing.isEmpty { throw MigrationError.missingFile(missing) }
        let pending = Set(entries.filter { $0.state == .pending }.map(\.version))
        return files.filter { pending.contains($0.version) }
    }

    private func record(_ file: MigrationFile, installedFrom: String, milliseconds: Int, in db: PostgresConnection) throws {
        try db.query("""
            INSERT INTO schema_history (version, description, script, checksum, installed_from, execution_time_ms)
            VALUES (\(file.version), \(file.description), \(file.fileName), \(file.checksum), \(installedFrom), \(milliseconds))
            """)
    }

    /// Applies every pending migration; returns the versions applied. Refuses to start
    /// when an applied file was edited or is missing.
    @discardableResult
    public func migrate(installedFrom: String, progress: (MigrationFile, Int) -> Void = { _, _ in }) throws -> [Int] {
        try connection.advisoryLock(Self.advisoryLockKey)
        defer { try? connection.advisoryUnlock(Self.advisoryLockKey) }

        var appliedNow: [Int] = []
        for file in try pendingFiles() {
            let started = Date()
            func record(_ db: PostgresConnection) throws {
                try self.record(file, installedFrom: installedFrom, milliseconds: Int(Date().timeIntervalSince(started) * 1000), in: db)
            }
            do {
                if file.runsOutsideTransaction {
                    // Each statement on its own (its SETs hold for the session: reset after). A
                    // statement that fails leaves the earlier ones done: such files are written
                    // to run again (IF NOT EXISTS), and a failed concurrent index build leaves
                    // an INVALID index to drop before the rerun.
                    defer { try? connection.execute(script: "RESET lock_timeout; RESET statement_timeout") }
                    for statement in file.statements { try connection.execute(script: statement) }
                    try record(connection)
                } else {
                    try connection.transaction { db in
                        try db.execute(script: file.contents)
                        try record(db)
                    }
                }
            } catch let error as PostgresError {
                if file.runsOutsideTransaction { throw MigrationError.failedOutsideTransaction(version: file.version, reason: error.debugDescription) }
                throw MigrationError.failed(version: file.version, reason: error.debugDescription)
            }
            appliedNow.append(file.version)
            progress(file, Int(Date().timeIntervalSince(started) * 1000))
        }
        return appliedNow
    }
}
