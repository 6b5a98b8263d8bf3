@testable import ControlPlaneCore
import Foundation
import Postgres
import TestSupport
import XCTest

final class MigrationFileTests: XCTestCase {
    func testFileNames() {
        XCTAssertEqual(MigrationFile.parseName("0007_tenant_connectors.sql")?.version, 7)
        XCTAssertEqual(MigrationFile.parseName("0007_tenant_connectors.sql")?.description, "tenant connectors")
        for bad in ["7_x.sql", "0007.sql", "0007_.sql", "0007_Upper.sql", "0000_zero.sql", "0007_x.txt", "00a7_x.sql", "0007_x-y.sql"] {
            XCTAssertNil(MigrationFile.parseName(bad), bad)
        }
    }

    func testRepositoryMigrationsLoadInOrder() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sql").path
        let files = try MigrationFile.load(directory: dir)
        XCTAssertFalse(files.isEmpty)
        XCTAssertEqual(files.first?.version, 1)
        XCTAssertEqual(files.map(\.version), files.map(\.version).sorted())
    }
}

/// Against a scratch database on the real PostgreSQL.
final class MigratorTests: XCTestCase {
    var scratch: ScratchDatabase!
    var directory: URL!

    override func setUpWithError() throws {
        scratch = try ScratchDatabase(prefix: "migtest")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let repoSQL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sql/0001_schema_history_and_roles.sql")
        try FileManager.default.copyItem(at: repoSQL, to: directory.appendingPathComponent("0001_schema_history_and_roles.sql"))
        try write("0002_widgets.sql", "CREATE TABLE widgets (id int PRIMARY KEY);")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
        scratch = nil
    }

    func write(_ name: String, _ sql: String) throws {
        try sql.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func migrator() throws -> Migrator {
        Migrator(connection: try scratch.connect(), files: try MigrationFile.load(directory: directory.path))
    }

    func testAppliesPendingInOrderAndRecordsThem() throws {
        XCTAssertEqual(try migrator().status().map(\.state), [.pending, .pending])
        XCTAssertEqual(try migrator().migrate(installedFrom: "test"), [1, 2])
        XCTAssertEqual(try migrator().migrate(installedFrom: "test"), [])
        try write("0003_gadgets.sql", "CREATE TABLE gadgets (id int);")
        XCTAssertEqual(try migrator().migrate(installedFrom: "test"), [3])

        let db = try scratch.connect()
        let rows = try db.query("SELECT version, checksum, installed_by, installed_from FROM schema_history ORDER BY version")
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(try rows.decode(2, 3, as: String.self), "test")
        XCTAssertEqual(try rows.decode(0, 1, as: String.self).count, 64)
        XCTAssertEqual(try migrator().status().map(\.state), [.applied, .applied, .applied])
    }

    func testRefusesWhenAnAppliedFileWasEdited() throws {
        try migrator().migrate(installedFrom: "test")
        try write("0002_widgets.sql", "CREATE TABLE widgets (id int PRIMARY KEY, extra text);")
        try write("0003_more.sql", "CREATE TABLE more (id int);")
        XCTAssertEqual(try migrator().status().map(\.state), [.applied, .edited, .pending])
        XCTAssertThrowsError(try migrator().migrate(installedFrom: "test")) { error in
            guard case MigrationError.editedAfterApply(let versions) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(versions, [2])
        }
        // Nothing after the refusal ran.
        let db = try scratch.connect()
        XCTAssertEqual(try db.query("SELECT to_regclass('more') IS NULL").decode(0, 0, as: Bool.self), true)
    }

    func testRefusesWhenAnAppliedFileIsMissing() throws {
        try migrator().migrate(installedFrom: "test")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("0002_widgets.sql"))
        XCTAssertThrowsError(try migrator().migrate(installedFrom: "test")) { error in
            guard case MigrationError.missingFile([2]) = error else { return XCTFail("\(error)") }
        }
    }

    func testFailingMigrationRollsBackWhole() throws {
        try write("0003_broken.sql", "CREATE TABLE half (id int); SELECT no_such_function();")
        XCTAssertThrowsError(try migrator().migrate(installedFrom: "test")) { error in
            guard case MigrationError.failed(version: 3, _) = error else { return XCTFail("\(error)") }
        }
        let db = try scratch.connect()
        XCTAssertEqual(try db.query("SELECT to_regclass('half') IS NULL").decode(0, 0, as: Bool.self), true)
        XCTAssertEqual(try db.query("SELECT max(version) FROM schema_history").decode(0, 0, as: Int.self), 2)
    }

    func testANoTransactionFileRunsItsStatementsOneByOne() throws {
        // CREATE INDEX CONCURRENTLY fails inside a transaction block: this file proves it ran outside.
        try write("0003_widgets_index.sql", """
            -- controlplane:no-transaction
            SET lock_timeout = '1min';
            CREATE INDEX CONCURRENTLY IF NOT EXISTS widgets_id ON widgets (id);
            """)
        XCTAssertEqual(try migrator().migrate(installedFrom: "test"), [1, 2, 3])
        let db = try scratch.connect()
        XCTAssertEqual(try db.query("SELECT to_regclass('widgets_id') IS NOT NULL").decode(0, 0, as: Bool.self), true)
        XCTAssertEqual(try migrator().status().map(\.state), [.applied, .applied, .applied])
        // A failure says what stays done, and records nothing.
        try write("0004_broken.sql", "-- controlplane:no-transaction\nCREATE TABLE kept (id int);\nSELECT no_such_function();\n")
        XCTAssertThrowsError(try migrator().migrate(installedFrom: "test")) { error in
            guard case MigrationError.failedOutsideTransaction(version: 4, _) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try db.query("SELECT to_regclass('kept') IS NOT NULL").decode(0, 0, as: Bool.self), true)
        XCTAssertEqual(try db.query("SELECT max(version) FROM schema_history").decode(0, 0, as: Int.self), 3)
        // The same file in a transaction would fail: the marker is what makes it work.
        try write("0005_in_transaction.sql", "CREATE INDEX CONCURRENTLY widgets_again ON widgets (id);")
        try FileManager.default.removeItem(at: directory.appendingPathComponent("0004_broken.sql"))
        XCTAssertThrowsError(try migrator().migrate(installedFrom: "test"))
    }

    func testConcurrentRunsApplyEachMigrationOnce() throws {
        try write("0003_slow.sql", "SELECT pg_sleep(0.3); CREATE TABLE slow (id int);")
        let results = ConcurrentResults()
        let group = DispatchGroup()
        for _ in 0..<3 {
            group.enter()
            nonisolated(unsafe) let m = try migrator()
            Thread {
                do { results.append(try m.migrate(installedFrom: "parallel")) } catch { results.append([-1]) }
                group.leave()
            }.start()
        }
        group.wait()
        XCTAssertEqual(results.all.flatMap { $0 }.sorted(), [1, 2, 3], "each version applied by exactly one run")
        let db = try scratch.connect()
        XCTAssertEqual(try db.query("SELECT count(*) FROM schema_history").decode(0, 0, as: Int.self), 3)
    }
}

final class ConcurrentResults: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [[Int]] = []
    func append(_ value: [Int]) { lock.lock(); values.append(value); lock.unlock() }
    var all: [[Int]] { lock.lock(); defer { lock.unlock() }; return values }
}
