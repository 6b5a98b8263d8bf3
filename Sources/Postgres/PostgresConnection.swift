import CPostgres
import ServiceLog
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection, used by one thread at a time. It connects lazily, prepares each
/// distinct statement once per connection, and reconnects after the server went away:
/// while it cannot connect, calls fail fast with `.connectionUnavailable` (at most one
/// connection attempt per `retryInterval`), so callers answer 503 and keep running.
public final class PostgresConnection {
    public struct Options: Sendable {
        public var connectTimeoutSeconds = 3
        public var statementTimeoutMilliseconds = 5000
        public var applicationName = "controlplane"
        public var retryIntervalMilliseconds = 200
        /// The server ends a session left idle inside a transaction for longer (0: never), which
        /// releases its locks: a host cut off mid-transaction cannot hold other hosts' writes
        /// until TCP notices.
        public var idleInTransactionTimeoutMilliseconds = 0
        /// Over TCP (libpq ignores these on unix sockets): a database host that went silent (cut
        /// off, powered off) is given up after about 4 s, not the kernel's minutes to hours, so a
        /// query fails (503) within the front's read timeout and the next connection goes to the
        /// new primary. Only the peer's kernel must answer: a long query is never cut short.
        public var tcpKeepaliveIdleSeconds = 2
        public var tcpUserTimeoutMilliseconds = 4_000
        /// Timestamps come back as `YYYY-MM-DD HH:MM:SS.ffffff+00`, which callers turn into RFC 3339.
        public var timeZone = "UTC"
        /// The login's password, from a credential rather than the URL (libpq takes it over
        /// the URL's, if any); nil leaves authentication to the URL, a pgpass file or the server.
        public var password: String?

        public init() {}
    }

    private let conninfo: String
    private let options: Options
    private var handle: OpaquePointer?
    private var statementNames: [String: String] = [:]
    private var lastAttempt: UInt64 = 0
    public private(set) var reconnectCount = 0
    /// Round trips sent (statements, scripts, preparations): the backend's access log shows
    /// how many a request cost.
    public private(set) var roundTripCount = 0
    private var hasConnectedBefore = false

    public init(conninfo: String, options: Options = Options()) {
        self.conninfo = conninfo
        self.options = options
    }

    deinit { close() }

    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        statementNames.removeAll()
    }

    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Connects if there is no healthy connection.
    public func ensureConnected() throws {
        if isConnected { return }
        close()
        let now = Self.monotonicMilliseconds()
        if lastAttempt != 0 && now - lastAttempt < UInt64(options.retryIntervalMilliseconds) {
            throw PostgresError(kind: .connectionUnavailable, sqlState: nil, serverMessage: "waiting before the next connection attempt")
        }
        lastAttempt = now
        var keywords = ["dbname", "connect_timeout", "application_name", "options",
                        "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"]
        var values = [conninfo, String(options.connectTimeoutSeconds), options.applicationName,
                      "-c statement_timeout=\(options.statementTimeoutMilliseconds) -c TimeZone=\(options.timeZone)"
                        + " -c idle_in_transaction_session_timeout=\(options.idleInTransactionTimeoutMilliseconds)",
                      "1", String(options.tcpKeepaliveIdleSeconds), "1", "2", String(options.tcpUserTimeoutMilliseconds)]
        if let password = options.password {
            keywords.append("password")
            values.append(password)
        }
        let connection = withCStringArray(keywords) { k in
            withCStringArray(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let connection { PQfinish(connection) }
            throw PostgresError(kind: .connectionUnavailable, sqlState: nil, serverMessage: message)
        }
        handle = connection
        if hasConnectedBefore { reconnectCount += 1 }
        hasConnectedBefore = true
    }

    /// Runs one statement as a prepared statement (prepared on first use per connection).
    /// With `retryOnConnectionLoss`, a statement that found an old connection broken is
    /// sent once more on a new one: only for statements that are safe to repeat.
    @discardableResult
    /// With `binaryResults`, every column comes in PostgreSQL's binary format: `bytea` as its
    /// raw bytes and text as UTF-8 (select other types `::text`).
    public func query(_ query: PostgresQuery, retryOnConnectionLoss: Bool = false, binaryResults: Bool = false) throws -> PostgresRows {
        let hadConnection = isConnected
        do {
            try ensureConnected()
            return try executePrepared(query, binaryResults: binaryResults)
        } catch let error as PostgresError where error.kind == .connectionUnavailable && retryOnConnectionLoss && hadConnection {
            close()
            lastAttempt = 0
            try ensureConnected()
            return try executePrepared(query, binaryResults: binaryResults)
        }
    }

    /// Sends SQL text as-is over the simple protocol (several statements allowed, no
    /// parameters): for migrations and fixed transaction control only.
    public func execute(script: String) throws {
        try ensureConnected()
        roundTripCount += 1
        let result = PQexec(handle, script)
        _ = try check(result, expectingRows: false)
    }

    /// Runs `body` in a transaction. If the connection turned out to be broken before
    /// COMMIT was sent, nothing was committed, so the whole body runs once more on a new
    /// connection; a failure at or after COMMIT is never retried (its outcome is unknown).
    /// Inside an open transaction it simply runs `body` as part of it, so operations that are
    /// transactional on their own compose into a larger one.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if let handle, PQtransactionStatus(handle) == PQTRANS_INTRANS { return try body(self) }
        var attempt = 0
        while true {
            attempt += 1
            let hadConnection = isConnected
            var commitSent = false
            do {
                try ensureConnected()
                try execute(script: "BEGIN")
                let value = try body(self)
                commitSent = true
                try execute(script: "COMMIT")
                return value
            } catch {
                if let pgError = error as? PostgresError, pgError.kind == .connectionUnavailable {
                    close()
                    if !commitSent && hadConnection && attempt == 1 {
                        lastAttempt = 0
                        continue
                    }
                } else if isConnected && PQtransactionStatus(handle) != PQTRANS_IDLE {
                    _ = try? execute(script: "ROLLBACK")
                }
                throw error
            }
        }
    }

    /// Starts listening on a notification channel (a fixed identifier, never user input).
    public func listen(_ channel: StaticString) throws {
        try execute(script: "LISTEN \(channel)")
    }

    /// Waits up to `timeoutMilliseconds` for notifications; returns their channel names.
    public func waitForNotifications(timeoutMilliseconds: Int32) throws -> [String] {
        try ensureConnected()
        guard let handle else { return [] }
        var channels = drainNotifications(handle)
        if !channels.isEmpty { return channels }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready > 0 {
            guard PQconsumeInput(handle) == 1 else {
                close()
                throw PostgresError(kind: .connectionUnavailable, sqlState: nil, serverMessage: "connection lost while listening")
            }
            channels = drainNotifications(handle)
        }
        return channels
    }

    private func drainNotifications(_ handle: OpaquePointer) -> [String] {
        var channels: [String] = []
        while let notification = PQnotifies(handle) {
            channels.append(String(cString: notification.pointee.relname))
            PQfreemem(notification)
        }
        return channels
    }

    /// Takes an advisory lock for the session if free; false when another session holds it.
    public func tryAdvisoryLock(_ key: Int64) throws -> Bool {
        let rows = try query("SELECT pg_try_advisory_lock(\(key))")
        return try rows.decode(0, 0, as: Bool.self)
    }

    public func advisoryUnlock(_ key: Int64) throws {
        try query("SELECT pg_advisory_unlock(\(key))")
    }

    /// Waits for a session advisory lock (for work that must queue, such as migrations).
    public func advisoryLock(_ key: Int64) throws {
        try query("SELECT pg_advisory_lock(\(key))")
    }

    /// Session advisory locks keyed by a name (`hashtext`), for units of work such as a region.
    public func tryAdvisoryLock(named name: String) throws -> Bool {
        try query("SELECT pg_try_advisory_lock(hashtext(\(name)))").decode(0, 0, as: Bool.self)
    }

    public func advisoryUnlock(named name: String) throws {
        try query("SELECT pg_advisory_unlock(hashtext(\(name)))")
    }

    /// A transaction-level advisory lock on `name` within `namespace` (one per kind of
    /// thing locked) if free, held until the transaction ends; false when another transaction,
    /// on any host, holds it. Two names sharing a hash only serialize with each other.
    public func tryTransactionLock(namespace: Int32, name: String) throws -> Bool {
        try query("SELECT pg_try_advisory_xact_lock(\(namespace)::int4, hashtext(\(name)))").decode(0, 0, as: Bool.self)
    }

    /// One round trip that proves the session works (health checks).
    public func ping() throws {
        try query("SELECT 1", retryOnConnectionLoss: true)
    }

    private func executePrepared(_ query: PostgresQuery, binaryResults: Bool) throws -> PostgresRows {
        guard let handle else { throw PostgresError(kind: .connectionUnavailable, sqlState: nil, serverMessage: "not connected") }
        let name: String
        if let existing = statementNames[query.sql] {
            name = existing
        } else {
            name = "s\(statementNames.count)"
            roundTripCount += 1
            let prepared = PQprepare(handle, name, query.sql, Int32(query.binds.count), nil)
            _ = try check(prepared, expectingRows: false)
            statementNames[query.sql] = name
        }
        roundTripCount += 1
        return try withBinds(query.binds) { values, lengths, formats in
            let result = PQexecPrepared(handle, name, Int32(query.binds.count), values, lengths, formats, binaryResults ? 1 : 0)
            return try check(result, expectingRows: true)!
        }
    }

    private func check(_ result: OpaquePointer?, expectingRows: Bool) throws -> PostgresRows? {
        guard let result else {
            throw PostgresError(kind: .connectionUnavailable, sqlState: nil,
                                serverMessage: handle.map { String(cString: PQerrorMessage($0)) } ?? "no connection")
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            if expectingRows { return PostgresRows(result: result) }
            PQclear(result)
            return nil
        default:
            let state = field(result, cpg_diag_sqlstate)
            let message = field(result, cpg_diag_message_primary) ?? String(cString: PQresultErrorMessage(result))
            let detail = field(result, cpg_diag_message_detail)
            let constraint = field(result, cpg_diag_constraint_name)
            PQclear(result)
            var kind = state.map(PostgresError.kind(forSQLState:)) ?? .connectionUnavailable
            if let handle, PQstatus(handle) != CONNECTION_OK { kind = .connectionUnavailable }
            throw PostgresError(kind: kind, sqlState: state, constraint: constraint, serverMessage: message, serverDetail: detail)
        }
    }

    private func field(_ result: OpaquePointer, _ code: Int32) -> String? {
        PQresultErrorField(result, code).map { String(cString: $0) }
    }

    private static func monotonicMilliseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}

/// Lays the parameters out in one buffer and hands libpq the pointer, length and format arrays.
private func withBinds<T>(_ binds: [PostgresBind],
                          _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) throws -> T) rethrows -> T {
    if binds.isEmpty { return try body(nil, nil, nil) }
    var storage = [CChar]()
    var offsets = [Int?]()
    var lengths = [Int32]()
    var formats = [Int32]()
    for bind in binds {
        if let bytes = bind.bytes {
            offsets.append(storage.count)
            storage.append(contentsOf: bytes.map { CChar(bitPattern: $0) })
            storage.append(0)
            lengths.append(Int32(bytes.count))
        } else {
            offsets.append(nil)
            lengths.append(0)
        }
        formats.append(bind.isBinary ? 1 : 0)
    }
    return try storage.withUnsafeBufferPointer { buffer in
        let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in offset.map { buffer.baseAddress! + $0 } }
        return try pointers.withUnsafeBufferPointer { p in
            try lengths.withUnsafeBufferPointer { l in
                try formats.withUnsafeBufferPointer { f in try body(p.baseAddress, l.baseAddress, f.baseAddress) }
            }
        }
    }
}

private func withCStringArray<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let duplicated = strings.map { strdup($0) }
    defer { duplicated.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicated.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
