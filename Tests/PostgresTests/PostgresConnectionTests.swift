import Postgres
import TestSupport
import XCTest

/// Against the real PostgreSQL that `make test` starts.
final class PostgresConnectionTests: XCTestCase {
    var scratch: ScratchDatabase!
    var db: PostgresConnection!

    override func setUpWithError() throws {
        scratch = try ScratchDatabase(prefix: "pgtest")
        db = try scratch.connect()
        try db.execute(script: """
            CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL UNIQUE, note text, blob bytea,
                                ok boolean, ratio double precision CHECK (ratio >= 0));
            """)
    }

    override func tearDown() {
        db = nil
        scratch = nil
    }

    func testInterpolationBindsParametersNeverText() throws {
        let name = "x'); DROP TABLE items; --"
        let query: PostgresQuery = "INSERT INTO items (id, name, note) VALUES (\(1), \(name), \(Optional<String>.none))"
        XCTAssertEqual(query.sql, "INSERT INTO items (id, name, note) VALUES ($1, $2, $3)")
        XCTAssertEqual(query.binds.count, 3)
        try db.query(query)
        let rows = try db.query("SELECT name, note FROM items WHERE id = \(1)")
        XCTAssertEqual(try rows.decode(0, "name", as: String.self), name)
        XCTAssertNil(try rows.decodeIfPresent(0, "note", as: String.self))
        XCTAssertEqual(try db.query("SELECT count(*) FROM items").decode(0, 0, as: Int.self), 1)
    }

    func testTypedValuesRoundTrip() throws {
        let blob: [UInt8] = [0, 1, 2, 0xff, 0x5c, 0x27, 0]
        try db.query("INSERT INTO items (id, name, blob, ok, ratio) VALUES (\(Int64(9_007_199_254_740_993)), \("é😀\u{1}"), \(blob), \(true), \(0.25))")
        let rows = try db.query("SELECT id, name, blob, ok, ratio FROM items")
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(try rows.decode(0, 0, as: Int64.self), 9_007_199_254_740_993)
        XCTAssertEqual(try rows.decode(0, 1, as: String.self), "é😀\u{1}")
        XCTAssertEqual(try rows.decode(0, 2, as: [UInt8].self), blob)
        XCTAssertEqual(try rows.decode(0, 3, as: Bool.self), true)
        XCTAssertEqual(try rows.decode(0, 4, as: Double.self), 0.25)
        XCTAssertThrowsError(try rows.decode(0, 1, as: Int.self))
    }

    func testSQLStateMapsToKindsWithoutValuesInDescription() throws {
        try db.query("INSERT INTO items (id, name) VALUES (\(1), \("secret-name-value"))")
        XCTAssertThrowsError(try db.query("INSERT INTO items (id, name) VALUES (\(2), \("secret-name-value"))")) { error in
            let pg = error as? PostgresError
            XCTAssertEqual(pg?.kind, .uniqueViolation)
            XCTAssertEqual(pg?.sqlState, "23505")
            XCTAssertEqual(pg?.constraint, "items_name_key")
            XCTAssertFalse(String(describing: error).contains("secret-name-value"))
            XCTAssertTrue(pg?.debugDescription.contains("secret-name-value") ?? false)
        }
        XCTAssertThrowsError(try db.query("INSERT INTO items (id, name, ratio) VALUES (\(3), \("n"), \(-1.0))")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .checkViolation)
        }
        XCTAssertThrowsError(try db.query("INSERT INTO items (id, name) VALUES (\(4), \(Optional<String>.none))")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .notNullViolation)
        }
        XCTAssertThrowsError(try db.query("SELECT \("abc")::int")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .invalidTextRepresentation)
        }
        XCTAssertThrowsError(try db.query("SELECT * FROM no_such_table")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .undefinedObject)
        }
        // The connection stays usable after each error.
        XCTAssertEqual(try db.query("SELECT 1").decode(0, 0, as: Int.self), 1)
    }

    func testStatementTimeoutMapsToQueryCanceled() throws {
        var options = PostgresConnection.Options()
        options.statementTimeoutMilliseconds = 100
        let short = try scratch.connect(options: options)
        XCTAssertThrowsError(try short.query("SELECT pg_sleep(2)")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .queryCanceled)
        }
    }

    func testStatementsArePreparedOncePerConnection() throws {
        for i in 0..<5 { try db.query("SELECT \(i) + 1") }
        for i in 0..<5 { try db.query("SELECT \(i)::text") }
        let prepared = try db.query("SELECT count(*) FROM pg_prepared_statements")
        // Two distinct statements (the count query itself is the third, prepared at its first run).
        XCTAssertEqual(try prepared.decode(0, 0, as: Int.self), 3)
    }

    func testTransactionCommitsOrRollsBack() throws {
        try db.transaction { tx in
            try tx.query("INSERT INTO items (id, name) VALUES (\(1), \("a"))")
        }
        XCTAssertThrowsError(try db.transaction { tx in
            try tx.query("INSERT INTO items (id, name) VALUES (\(2), \("b"))")
            try tx.query("INSERT INTO items (id, name) VALUES (\(3), \("a"))")  // unique violation
        })
        let names = try db.query("SELECT name FROM items ORDER BY id")
        XCTAssertEqual(names.count, 1)
        XCTAssertEqual(try names.decode(0, 0, as: String.self), "a")
    }

    func testReconnectsAfterTheServerEndsTheSession() throws {
        XCTAssertEqual(try db.query("SELECT 1").decode(0, 0, as: Int.self), 1)
        try scratch.terminateSessions()
        // A repeatable statement is retried once on a new connection.
        XCTAssertEqual(try db.query("SELECT 2", retryOnConnectionLoss: true).decode(0, 0, as: Int.self), 2)
        XCTAssertEqual(db.reconnectCount, 1)

        try scratch.terminateSessions()
        // A transaction that found the connection broken before COMMIT runs again, once.
        var runs = 0
        try db.transaction { tx in
            runs += 1
            try tx.query("INSERT INTO items (id, name) VALUES (\(7), \("after-reconnect"))")
        }
        XCTAssertEqual(runs, 1, "BEGIN failed on the dead connection, so the body ran once, on the new one")
        XCTAssertEqual(try db.query("SELECT count(*) FROM items WHERE id = 7").decode(0, 0, as: Int.self), 1)

        try scratch.terminateSessions()
        // Without the retry flag the loss is reported, and the next call reconnects.
        XCTAssertThrowsError(try db.query("SELECT 3")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
        }
        Thread.sleep(forTimeInterval: 0.25)
        XCTAssertEqual(try db.query("SELECT 4").decode(0, 0, as: Int.self), 4)
    }

    func testUnreachableServerFailsFastAsUnavailable() throws {
        var options = PostgresConnection.Options()
        options.connectTimeoutSeconds = 1
        let nowhere = PostgresConnection(conninfo: "postgresql:///none?host=/nonexistent-dir", options: options)
        XCTAssertThrowsError(try nowhere.query("SELECT 1")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
        }
        // Within the retry interval, no new attempt is made: still unavailable, immediately.
        XCTAssertThrowsError(try nowhere.query("SELECT 1")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
        }
    }

    func testAdvisoryLockIsExclusiveAcrossSessions() throws {
        let other = try scratch.connect()
        XCTAssertTrue(try db.tryAdvisoryLock(42))
        XCTAssertFalse(try other.tryAdvisoryLock(42))
        try db.advisoryUnlock(42)
        XCTAssertTrue(try other.tryAdvisoryLock(42))
    }
}
