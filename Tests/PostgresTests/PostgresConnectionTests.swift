import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

    /// A client gone silent inside a transaction (its host cut off) loses the session after
    /// `idleInTransactionTimeoutMilliseconds`, and with it its locks: other writers go on.
    func testASessionIdleInATransactionIsEndedAndItsLocksReleased() throws {
        try db.execute(script: "CREATE TABLE held (id int PRIMARY KEY); INSERT INTO held VALUES (1)")
        var options = PostgresConnection.Options()
        options.idleInTransactionTimeoutMilliseconds = 200
        let stalled = try scratch.connect(options: options)
        try stalled.execute(script: "BEGIN")
        try stalled.query("UPDATE held SET id = 1 WHERE id = 1")
        Thread.sleep(forTimeInterval: 0.6)
        var waiting = PostgresConnection.Options()
        waiting.statementTimeoutMilliseconds = 1000
        let other = try scratch.connect(options: waiting)
        try other.query("UPDATE held SET id = 1 WHERE id = 1")  // not blocked by the row lock
        XCTAssertThrowsError(try stalled.execute(script: "COMMIT")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
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

    /// A server that accepts TCP connections and never says a word: the first call gives up
    /// at the connect timeout; the next, within the retry interval, makes no new attempt and
    /// fails at once (a new attempt would wait the whole timeout again).
    func testSilentServerFailsWithinTheTimeoutAndNoNewAttemptWithinTheRetryInterval() throws {
        let listener = try SilentListener()
        listener.start()
        defer { listener.stop() }
        var options = PostgresConnection.Options()
        options.connectTimeoutSeconds = 2
        options.retryIntervalMilliseconds = 10_000
        let silent = PostgresConnection(conninfo: "postgresql://x@127.0.0.1:\(listener.port)/none", options: options)
        var started = DispatchTime.now().uptimeNanoseconds
        XCTAssertThrowsError(try silent.query("SELECT 1")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
        }
        let first = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        XCTAssertGreaterThanOrEqual(first, 1.5, "it gave up before the connect timeout: did it reach the listener?")
        XCTAssertLessThan(first, 10, "the connect timeout did not bound the attempt")
        XCTAssertGreaterThanOrEqual(listener.accepted, 1)
        started = DispatchTime.now().uptimeNanoseconds
        XCTAssertThrowsError(try silent.query("SELECT 1")) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
        }
        let second = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        XCTAssertLessThan(second, 1, "a new connection attempt was made within the retry interval")
        XCTAssertEqual(listener.accepted, 1)
    }

    /// A connection lost inside a transaction before COMMIT was sent: nothing was committed,
    /// so the body runs once more on a new connection and commits once.
    func testTransactionRerunsWhenTheConnectionDiesBeforeCommit() throws {
        try db.execute(script: "CREATE TABLE rerun (id int PRIMARY KEY)")
        var runs = 0
        try db.transaction { db in
            runs += 1
            if runs == 1 { try scratch.terminateSessions() }
            try db.query("INSERT INTO rerun VALUES (1)")
        }
        XCTAssertEqual(runs, 2)
        XCTAssertEqual(try db.query("SELECT count(*)::int FROM rerun").decode(0, 0, as: Int.self), 1)
    }

    /// Lost at COMMIT (a deferred trigger ends the session while committing): the outcome is
    /// unknown to the client, so the body is never run again; the error is reported.
    func testTransactionIsNeverRerunWhenTheConnectionDiesAtCommit() throws {
        try db.execute(script: """
            CREATE TABLE at_commit (id int PRIMARY KEY);
            CREATE FUNCTION die() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON at_commit
                DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die();
            """)
        var runs = 0
        XCTAssertThrowsError(try db.transaction { db in
            runs += 1
            try db.query("INSERT INTO at_commit VALUES (1)")
        }) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
        }
        XCTAssertEqual(runs, 1)
        Thread.sleep(forTimeInterval: 0.25)
        XCTAssertEqual(try scratch.connect().query("SELECT count(*)::int FROM at_commit").decode(0, 0, as: Int.self), 0)
    }

    func testAdvisoryLockIsExclusiveAcrossSessions() throws {
        let other = try scratch.connect()
        XCTAssertTrue(try db.tryAdvisoryLock(42))
        XCTAssertFalse(try other.tryAdvisoryLock(42))
        try db.advisoryUnlock(42)
        XCTAssertTrue(try other.tryAdvisoryLock(42))
    }
}

/// A TCP listener on 127.0.0.1 that accepts connections and never answers.
private final class SilentListener: @unchecked Sendable {
    let descriptor: Int32
    let port: UInt16
    private var connections: [Int32] = []
    private let lock = NSLock()

    var accepted: Int { lock.withLock { connections.count } }

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0, listen(descriptor, 16) == 0 else { throw XCTSkip("cannot listen on 127.0.0.1") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
    }

    /// Starts accepting (after init: the thread holds the listener).
    func start() {
        Thread.detachNewThread { [self] in
            while true {
                let connection = accept(descriptor, nil, nil)
                if connection < 0 { return }
                lock.withLock { connections.append(connection) }
            }
        }
    }

    /// Stops accepting (the accept loop ends) and closes every connection.
    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
        lock.withLock { connections.forEach { close($0) } }
    }
}
