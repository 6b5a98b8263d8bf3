import ArgumentParser
import ControlPlane
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
            let db = try database.connect()
            do {
                try db.query("""
                    INSERT INTO service_tokens (name, token_hash, token_hint, scopes)
                    VALUES (\(name), \(ServiceToken.hash(token)), \(String(token.prefix(9))),
                            string_to_array(\(scopeList.map(\.rawValue).joined(separator: ",")), ','))
                    """)
            } catch let error as PostgresError where error.kind == .uniqueViolation {
                throw CLIError("a token named \(name) (or this token) already exists")
            } catch let error as PostgresError where error.kind == .checkViolation {
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
            let rows = try database.connect().query("""
                SELECT name, token_hint, array_to_string(scopes, ','), to_char(created_at, 'YYYY-MM-DD HH24:MI'),
                       COALESCE(to_char(revoked_at, 'YYYY-MM-DD HH24:MI'), '-')
                FROM service_tokens ORDER BY created_at
                """)
            print("NAME\tHINT\tSCOPES\tCREATED\tREVOKED")
            for row in 0..<rows.count {
                print((0..<5).map { (try? rows.decode(row, $0, as: String.self)) ?? "" }.joined(separator: "\t"))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by name (effective within CONTROLPLANE_TOKEN_CACHE_SECONDS).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The token's name.") var name: String

        func run() throws {
            let rows = try database.connect().query(
                "UPDATE service_tokens SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL")
            guard rows.affectedRows == 1 else { throw CLIError("no active token named \(name)") }
            print("revoked \(name)")
        }
    }
}
