import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Service tokens for /internal/*: create (printed once), list, revoke.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once; only its SHA-256 is stored.",
            discussion: "Scopes: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")), or all.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "A name for the service (lowercase, digits, . _ -).") var name: String
        @Option(help: "Comma-separated scopes, or all.") var scopes: String
        @Flag(help: "Read the token from standard input instead of generating one (to import a token kept elsewhere).")
        var tokenStdin = false

        func run() throws {
            let scopeList: [Scope]
            switch Scope.parseList(scopes) {
            case .success(let list) where !list.isEmpty: scopeList = list
            case .success: throw ValidationError("--scopes lists no scope")
            case .failure(let unknown): throw ValidationError(unknown.description)
            }
            var token = ServiceToken.generate()
            if tokenStdin {
                token = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
                guard ServiceToken.isWellFormed(token) else {
                    throw ValidationError("a token is \(ServiceToken.prefix) followed by 43 base64url characters")
                }
            }
            do {
                try database.connect().transaction { db in
                    try ServiceTokenStore(db: db).create(name: name, token: token, scopes: scopeList)
                    try AuditLogStore(db: db).record(.init(actor: operatorActor, traceId: nil, action: "token.create", target: "token:\(name)",
                                                           summary: scopeList.map(\.rawValue).joined(separator: ",")))  // never the token
                }
            } catch ServiceTokenStore.Failure.nameOrTokenTaken {
                throw CLIError("a token named \(name) (or this token) already exists")
            } catch ServiceTokenStore.Failure.malformedName {
                throw ValidationError("the name must be lowercase letters, digits, . _ - (up to 63)")
            }
            if !tokenStdin { print(token) }
            FileHandle.standardError.write(Data("created token \(name) with scopes \(scopeList.map(\.rawValue).joined(separator: ",")); it is not shown again\n".utf8))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (names, hints, scopes; never the tokens).")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            print("NAME\tHINT\tSCOPES\tCREATED\tREVOKED")
            for token in try ServiceTokenStore(db: try database.connect()).list() {
                print([token.name, token.hint, token.scopes.joined(separator: ","), String(token.createdAt.prefix(16)),
                       token.revokedAt.map { String($0.prefix(16)) } ?? "-"].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by name (effective within CONTROLPLANE_TOKEN_CACHE_SECONDS).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The token's name.") var name: String

        func run() throws {
            do {
                try database.connect().transaction { db in
                    try ServiceTokenStore(db: db).revoke(name: name)
                    try AuditLogStore(db: db).record(.init(actor: operatorActor, traceId: nil, action: "token.revoke", target: "token:\(name)"))
                }
            } catch ServiceTokenStore.Failure.notFound {
                throw CLIError("no active token named \(name)")
            }
            print("revoked \(name)")
        }
    }
}
