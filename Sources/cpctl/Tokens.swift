import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

struct Tokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Service tokens for /internal/*: create (printed once), list, roll, limit, revoke.",
        subcommands: [Create.self, List.self, Roll.self, Limit.self, Revoke.self])

    /// `--rate-limit` and `--daily-quota` as given (`none` clears one when changing limits).
    struct LimitOptions: ParsableArguments {
        @Option(name: .customLong("rate-limit"), help: "Requests per second or minute, e.g. 5/s or 300/min (per backend process).")
        var rate: String?
        @Option(name: .customLong("daily-quota"), help: "Requests per UTC day, across every backend.")
        var dailyQuota: String?

        func limits(keeping current: TokenLimits = TokenLimits()) throws -> TokenLimits {
            do {
                return try TokenLimits.parse(rate: rate, dailyQuota: dailyQuota, keeping: current)
            } catch let problem as Problem {
                throw ValidationError(problem.invalidParams.map { "--\($0.name) \($0.reason)" }.joined(separator: "; "))
            }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token and print it once; only its SHA-256 is stored.",
            discussion: "Scopes: \(Scope.allCases.map(\.rawValue).joined(separator: ", ")), or all.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "A name for the service (lowercase, digits, . _ -).") var name: String
        @Option(help: "Comma-separated scopes, or all.") var scopes: String
        @Option(name: .customLong("expires-in"), help: "Lifetime, e.g. 90d, 12h, 2w (default: no expiry).") var expiresIn: String?
        @OptionGroup var limitOptions: LimitOptions
        @Flag(help: "Read the token from standard input instead of generating one (to import a token kept elsewhere).")
        var tokenStdin = false

        func run() throws {
            let scopeList: [Scope]
            switch Scope.parseList(scopes) {
            case .success(let list) where !list.isEmpty: scopeList = list
            case .success: throw ValidationError("--scopes lists no scope")
            case .failure(let unknown): throw ValidationError(unknown.description)
            }
            let lifetime = try expiresIn.map { text -> Int in
                guard let seconds = DurationText.seconds(text) else { throw ValidationError("--expires-in is a number and a unit: s, m, h, d or w (e.g. 90d)") }
                return seconds
            }
            let limits = try limitOptions.limits()
            var token = ServiceToken.generate()
            if tokenStdin {
                token = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
                guard ServiceToken.isWellFormed(token) else {
                    throw ValidationError("a token is \(ServiceToken.prefix) followed by 43 base64url characters and its 6-character checksum")
                }
            }
            do {
                try database.connect().transaction { db in
                    try ServiceTokenStore(db: db).create(name: name, token: token, scopes: scopeList, expiresInSeconds: lifetime, limits: limits)
                    let summary = ([scopeList.map(\.rawValue).joined(separator: ",")] + [expiresIn.map { "expires in \($0)" }, limits.isUnlimited ? nil : limits.summary]
                        .compactMap { $0 }).joined(separator: "; ")
                    try AuditLogStore(db: db).record(.init(actor: operatorActor, traceId: nil, action: "token.create", target: "token:\(name)",
                                                           summary: summary))  // never the token
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
        static let configuration = CommandConfiguration(abstract: "List tokens: state, expiry, last use, limits, today's requests (never the tokens).")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            let db = try database.connect()
            let tokens = try ServiceTokenStore(db: db).list(), today = try ServiceTokenUsageStore(db: db).today()
            if json {
                for token in tokens {
                    var out = JSONWriter()
                    out.beginObject()
                    out.key("name"); out.string(token.name)
                    out.key("hint"); out.string(token.hint)
                    out.key("state"); out.string(token.state)
                    out.key("scopes"); out.beginArray(); token.scopes.forEach { out.string($0) }; out.endArray()
                    out.key("createdAt"); out.timestamp(token.createdAt)
                    out.key("expiresAt"); out.timestamp(token.expiresAt)
                    out.key("lastUsedAt"); out.timestamp(token.lastUsedAt)
                    out.key("revokedAt"); out.timestamp(token.revokedAt)
                    out.key("rateLimit"); out.string(token.limits.rate?.description)
                    out.key("dailyQuota"); if let quota = token.limits.dailyQuota { out.int(quota) } else { out.null() }
                    out.key("requestsToday"); out.int(today[token.name]?.used ?? 0)
                    out.key("limitedToday"); out.int(today[token.name]?.limited ?? 0)
                    out.endObject()
                    printJSON(out.bytes)
                }
                return
            }
            func time(_ text: String?) -> String { text.map { RFC3339.seconds(postgresText: $0) } ?? "-" }
            printTable(["NAME", "HINT", "STATE", "SCOPES", "EXPIRES", "LAST USED", "RATE", "DAILY QUOTA", "TODAY", "429 TODAY"], tokens.map { token in
                [token.name, token.hint, token.state, token.scopes.joined(separator: ","), time(token.expiresAt), time(token.lastUsedAt),
                 token.limits.rate?.description ?? "-", token.limits.dailyQuota.map(String.init) ?? "-",
                 String(today[token.name]?.used ?? 0), String(today[token.name]?.limited ?? 0)]
            })
        }
    }

    struct Roll: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a successor of a token (same name, scopes, limits and lifetime); the old one works until the grace ends.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The token's name.") var name: String
        @Option(help: "How long the old token keeps working, e.g. 24h, 7d.") var grace: String

        func run() throws {
            guard let graceSeconds = DurationText.seconds(grace) else { throw ValidationError("--grace is a number and a unit: s, m, h, d or w (e.g. 24h)") }
            let token = ServiceToken.generate()
            let oldEnds: String
            do {
                oldEnds = try audited(try database.connect(), action: "token.roll", target: "token:\(name)", summary: "grace \(grace)") { db in
                    try ServiceTokenStore(db: db).roll(name: name, successor: token, graceSeconds: graceSeconds)
                }
            } catch ServiceTokenStore.Failure.notFound {
                throw CLIError("no live token named \(name)")
            }
            print(token)
            FileHandle.standardError.write(Data("rolled \(name): the old token works until \(RFC3339.seconds(postgresText: oldEnds)); the new one is not shown again\n".utf8))
        }
    }

    struct Limit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a token's rate limit or daily quota (none removes one); backends apply it within CONTROLPLANE_TOKEN_CACHE_SECONDS.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The token's name.") var name: String
        @OptionGroup var limitOptions: LimitOptions

        func validate() throws {
            guard limitOptions.rate != nil || limitOptions.dailyQuota != nil else { throw ValidationError("give --rate-limit or --daily-quota (or both)") }
        }

        func run() throws {
            let db = try database.connect()
            guard let current = try ServiceTokenStore(db: db).list().first(where: { $0.name == name && $0.state == "active" }) else {
                throw CLIError("no live token named \(name)")
            }
            let limits = try limitOptions.limits(keeping: current.limits)
            try audited(db, action: "token.limit", target: "token:\(name)", summary: limits.summary) { db in
                try ServiceTokenStore(db: db).setLimits(name: name, limits)
            }
            print("\(name): \(limits.summary)")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by name, a rolled one's successor too (effective within CONTROLPLANE_TOKEN_CACHE_SECONDS).")
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
