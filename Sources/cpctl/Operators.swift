import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

extension OperatorStore.Role: ExpressibleByArgument {}

struct Operators: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The people who use the console, each with a role: viewer, reviewer, operator, admin.",
        subcommands: [Add.self, List.self, SetRole.self, Disable.self])

    static func write(_ row: OperatorStore.Row) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("name"); json.string(row.name)
        json.key("email"); json.string(row.email)
        json.key("role"); json.string(row.roleName)
        json.key("createdAt"); json.timestamp(row.createdAt)
        json.key("disabledAt"); json.timestamp(row.disabledAt)
        json.endObject()
        return json.bytes
    }

    /// One operator change and its audit row, in one transaction.
    static func change(_ database: DatabaseOptions, action: String, target: String,
                       _ body: (PostgresConnection) throws -> OperatorStore.Row) throws {
        let db = try database.connect()
        let row = try reportingProblems {
            try db.transaction { db in
                let row = try body(db)
                try AuditLogStore(db: db).record(.init(actor: operatorActor, traceId: nil, action: action, target: "operator:\(target)",
                                                       summary: "role \(row.roleName)\(row.disabledAt == nil ? "" : ", disabled")"))
                return row
            }
        }
        printJSON(write(row))
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an operator.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Lowercase name (a-z, 0-9, . _ -).") var name: String
        @Option(help: "viewer, reviewer, operator or admin.") var role: OperatorStore.Role
        @Option(help: "Their email, for the record.") var email: String?
        func run() throws {
            try change(database, action: "operator.add", target: name) { try OperatorStore(db: $0).add(name: name, email: email, role: role) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List operators (a table; --json for JSON lines).")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON object per line.") var json = false
        func run() throws {
            let rows = try OperatorStore(db: try database.connect()).list()
            if json { return rows.forEach { printJSON(write($0)) } }
            printTable(["NAME", "ROLE", "STATE", "SINCE", "EMAIL"], rows.map {
                [$0.name, $0.roleName, $0.disabledAt == nil ? "active" : "disabled", timeCell($0.createdAt), $0.email ?? "-"]
            })
        }
    }

    struct SetRole: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-role", abstract: "Change an operator's role.")
        @OptionGroup var database: DatabaseOptions
        @Argument var name: String
        @Option var role: OperatorStore.Role
        func run() throws {
            try change(database, action: "operator.set_role", target: name) { try OperatorStore(db: $0).setRole(name, role: role) }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an operator; their sessions end at once.")
        @OptionGroup var database: DatabaseOptions
        @Argument var name: String
        func run() throws {
            try change(database, action: "operator.disable", target: name) { db in
                let row = try OperatorStore(db: db).disable(name)
                _ = try ConsoleSessionStore(db: db).revokeAll(operatorId: row.id)
                return row
            }
        }
    }
}

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The operator console.", subcommands: [LoginLink.self])

    struct LoginLink: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "login-link",
            abstract: "Print a single-use sign-in URL for an operator (its last line), valid at most 10 minutes.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The operator's name.") var `operator`: String
        @Option(help: "The console's base URL (default CONTROLPLANE_CONSOLE_URL).") var baseURL: String?
        @Option(help: "Seconds the link stays valid (at most 600).") var seconds = 600

        func run() throws {
            guard (1...ConsoleSignIn.maxLinkSeconds).contains(seconds) else { throw ValidationError("--seconds must be from 1 to 600") }
            guard let base = try baseURL ?? Environment.load()["CONTROLPLANE_CONSOLE_URL"],
                  base.hasPrefix("https://") || base.hasPrefix("http://") else {
                throw CLIError("set --base-url or CONTROLPLANE_CONSOLE_URL (the console's absolute URL, e.g. https://controlplane.internal:8443/console/)",
                               exit: SysExit.config)
            }
            let db = try database.connect()
            let token = try reportingProblems {
                try ConsoleSignIn(db: db).issueLink(operatorName: `operator`, lifetimeSeconds: seconds, actor: operatorActor)
            }
            print("Single use, valid \(seconds / 60 > 0 ? "\(seconds / 60) min" : "\(seconds) s"). Open:")
            print((base.hasSuffix("/") ? base : base + "/") + "login?token=" + token)
        }
    }
}

struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The audit log, newest first (a table; --json for JSON lines): who did what, from which surface.")
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "One JSON object per line.") var json = false
    @Option var actor: String?
    @Option var action: String?
    @Option var target: String?
    @Option(help: "RFC 3339 time.") var since: String?
    @Option var limit = 50

    func run() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        if let since, !RFC3339.isValid(since) { throw ValidationError("--since must be an RFC 3339 time") }
        let filter = AuditLogStore.Filter(actor: actor, action: action, target: target, since: since)
        let rows = try AuditLogStore(db: try database.connect()).list(filter, after: nil, limit: limit).items
        guard json else {
            return printTable(["TIME", "ACTOR", "ACTION", "TARGET", "TRACE", "REASON"], rows.map {
                [timeCell($0.occurredAt), $0.actor, $0.action, $0.target ?? "-", $0.traceId ?? "-", $0.reason ?? "-"]
            })
        }
        for row in rows {
            var out = JSONWriter()
            AuditLogStore.write(row, to: &out)
            printJSON(out.bytes)
        }
    }
}
