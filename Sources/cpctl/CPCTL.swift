import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

@main
struct CPCTL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cpctl",
        abstract: "Operator CLI for the controlplane: migrations and, as they land, tenants, trials, domains, tokens, keys, nodes and regions.",
        discussion: "Connects with DATABASE_URL (or CPCTL_DATABASE_URL); settings may also come from CONTROLPLANE_CONFIG_FILE.",
        subcommands: [Migrate.self, Tokens.self, Tenants.self, Trials.self, Domains.self, Regions.self, Nodes.self, Commands.self,
                      AdminJobs.self, Keys.self, Secrets.self, Operators.self, Console.self, Audit.self, Webhooks.self])

    /// Runs the command; failures exit with sysexits(3) codes, as operators' scripts expect:
    /// 64 usage (ArgumentParser's own), 65 data refused, 66 a missing input file, 69 the
    /// database unreachable, 73 an output that cannot be created, 75 a temporary failure
    /// (a statement timed out), 78 configuration.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CLIError {
            fail(error.description, error.exitCode)
        } catch let error as ConfigurationError {
            fail("\(error)", SysExit.config)
        } catch let error as MigrationError {
            if case .directoryUnreadable = error { fail("\(error)", SysExit.noInput) }
            fail("\(error)", SysExit.dataError)
        } catch let error as PostgresError {
            switch error.kind {
            case .connectionUnavailable: fail("the database is unreachable: \(error.debugDescription)", SysExit.unavailable)
            case .queryCanceled: fail("a statement timed out: \(error.debugDescription)", SysExit.tempFail)
            default: fail(error.debugDescription, SysExit.software)
            }
        } catch let error as ProblemConvertible {
            let problem = error.problem
            fail(problem.detail ?? problem.type.rawValue, problem.status == 503 ? SysExit.unavailable : SysExit.dataError)
        } catch {
            exit(withError: error)  // usage mistakes: ArgumentParser's message and 64
        }
    }

    static func fail(_ message: String, _ code: Int32) -> Never {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        Foundation.exit(code)
    }
}

/// sysexits(3).
enum SysExit {
    static let dataError: Int32 = 65, noInput: Int32 = 66, unavailable: Int32 = 69, software: Int32 = 70, cannotCreate: Int32 = 73
    static let tempFail: Int32 = 75, config: Int32 = 78
}

/// Options every database command shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "libpq connection string or URL (default: CPCTL_DATABASE_URL, then DATABASE_URL).")
    var databaseURL: String?

    func connect() throws -> PostgresConnection {
        let environment = try Environment.load()
        let url = try databaseURL ?? environment.databaseURL(preferring: "CPCTL_DATABASE_URL")
        var options = PostgresConnection.Options()
        options.applicationName = "cpctl"
        options.statementTimeoutMilliseconds = 0
        let connection = PostgresConnection(conninfo: url, options: options)
        do {
            try connection.ensureConnected()
        } catch let error as PostgresError {
            throw CLIError("cannot connect to the database: \(error.debugDescription)", exit: SysExit.unavailable)
        }
        return connection
    }
}

/// A failure while running (not a usage mistake): printed as `Error: …` without the usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32
    init(_ description: String, exit code: Int32 = SysExit.dataError) {
        self.description = description
        exitCode = code
    }
}

/// Runs a command body; a domain refusal (the same problem the API would answer) becomes a
/// CLI error worded like the others: "cannot resume a tenant that is active".
func reportingProblems<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ProblemConvertible {
        let problem = error.problem
        var text = problem.detail ?? problem.type.rawValue
        if text.hasSuffix(".") { text.removeLast() }
        if let first = text.first { text = first.lowercased() + text.dropFirst() }
        if let field = problem.invalidParams.first { text = "\(field.name) \(field.reason)" }
        throw CLIError(text, exit: problem.status == 503 ? SysExit.unavailable : SysExit.dataError)
    }
}

/// Prints JSON bytes as one line.
func printJSON(_ json: [UInt8]) { print(String(decoding: json, as: UTF8.self)) }

/// A change and its audit row (the actor: the operator running cpctl), in one transaction.
func audited<T>(_ db: PostgresConnection, action: String, target: String, summary: String? = nil,
                _ change: (PostgresConnection) throws -> T) throws -> T {
    try AuditLogStore.audited(db, actor: operatorActor, traceId: nil, action: action) { db in (try change(db), target: target, summary: summary) }
}

/// The operator running cpctl, as audit trails name them: who ran sudo, else the account
/// the process runs as (not $USER, which a service manager may not set and anyone can).
var operatorActor: String {
    if let invoker = ProcessInfo.processInfo.environment["SUDO_USER"], !invoker.isEmpty { return "operator:\(invoker)" }
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return "operator:\(String(cString: name))" }
    return "operator:uid-\(geteuid())"
}

/// A human table: columns padded to their widest cell, the last one left ragged.
func printTable(_ headers: [String], _ rows: [[String]]) {
    let widths = headers.indices.map { column in ([headers] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [headers] + rows {
        print(row.indices.map { $0 == row.count - 1 ? row[$0] : row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            .joined(separator: "  "))
    }
}
