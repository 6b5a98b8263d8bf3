import Foundation
import Postgres
import XCTest

/// A throwaway database on the test cluster that `make test` starts. Integration tests
/// need `CONTROLPLANE_ADMIN_DATABASE_URL` (a superuser URL on that cluster).
public final class ScratchDatabase {
    public let name: String
    public let url: String
    private let admin: PostgresConnection

    public init(prefix: String) throws {
        guard let adminURL = ProcessInfo.processInfo.environment["CONTROLPLANE_ADMIN_DATABASE_URL"] else {
            throw XCTSkip("CONTROLPLANE_ADMIN_DATABASE_URL is not set: run the integration tests with `make test`")
        }
        admin = PostgresConnection(conninfo: adminURL)
        name = "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
        try admin.execute(script: "CREATE DATABASE \(name)")
        url = Self.replacingDatabase(in: adminURL, with: name)
    }

    deinit {
        _ = try? admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name) AND pid <> pg_backend_pid()")
        _ = try? admin.execute(script: "DROP DATABASE IF EXISTS \(name)")
    }

    public func connect(options: PostgresConnection.Options = .init()) throws -> PostgresConnection {
        let connection = PostgresConnection(conninfo: url, options: options)
        try connection.ensureConnected()
        return connection
    }

    /// Ends every session on this database but the admin's (a server-side disconnect).
    public func terminateSessions() throws {
        try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(name)")
    }

    /// `postgresql:///postgres?host=…` → `postgresql:///NAME?host=…`.
    static func replacingDatabase(in url: String, with database: String) -> String {
        guard let range = url.range(of: ":///") else { return url }
        let rest = url[range.upperBound...]
        let query = rest.firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return url[..<range.upperBound] + database + query
    }
}
