import Foundation
import OpenSSLCrypto
import Postgres
import ServiceLog

/// The public manual-approval steps: a draft (with a secret that authorizes every later
/// step), a one-time code to a work address, its verification, the company details. Each
/// step is one transaction with its attempt-log row; refusals that must be remembered (a
/// counted code attempt, a log row) commit and then answer with their problem.
public struct TrialDrafts {
    public let db: PostgresConnection
    public let requester: SignupRequester
    public let limits: TrialSettings
    public let logger: Logger

    public init(db: PostgresConnection, requester: SignupRequester, limits: TrialSettings,
                logger: Logger = Logger(component: "controlplaned")) {
        self.db = db
        self.requester = requester
        self.limits = limits
        self.logger = logger
    }

    public static let secretPrefix = "cpds_"
    public static let companySizes = ["1-10", "11-50", "51-200", "201-1000", "1001+"]

    public struct Created: Sendable { public let id: String, secret: String }

    public func create(email address: EmailAddress) throws -> Created {
        let secret = Self.secretPrefix + Base64.encode(SecureRandom.bytes(32), url: true)
        let network = ClientNetwork.of(requester.remoteAddress)
        let outcome = try db.transaction { db -> Result<String, Problem> in
            let limit = TrialRateCounterStore.Limit(.networkDraftsHour, key: Hex.encode(requester.keyedHash(network)),
                                                    max: limits.maxDraftsPerNetworkPerHour)
            if let (_, wait) = try TrialRateCounterStore(db: db).take([limit]) {
                try SignupAttemptStore(db: db).record(requester, step: "draft", email: address.normalized, domain: address.domain,
                                                      outcome: "rate_limited_network")
                return .failure(Problem(429, type: .draftLimit, detail: "Too many drafts from your network this hour.",
                                        headers: [("retry-after", String(wait))]))
            }
            let id = try TrialDraftStore(db: db).create(secretHash: SHA256.hash(secret), email: address.normalized)
            try SignupAttemptStore(db: db).record(requester, step: "draft", email: address.normalized, domain: address.domain,
                                                  outcome: "created", draftId: id)
            return .success(id)
        }
        return Created(id: try outcome.get(), secret: secret)
    }

    /// The draft, if `secret` is its own. Unknown draft and wrong secret look the same (404),
    /// so drafts cannot be probed.
    public static func draft(_ id: String, secret: String, in db: PostgresConnection) throws -> TrialDraftStore.StepRow {
        guard TenantValidation.isUUID(id), secret.hasPrefix(Self.secretPrefix), secret.utf8.count == 48,
              let draft = try TrialDraftStore(db: db).lockForStep(id),
              constantTimeEquals(draft.secretHash, SHA256.hash(secret)) else {
            throw Problem.notFound("No such draft.")
        }
        return draft
    }

    /// Sends a code to a work address (the sync makes the code when it sends the email).
    public func requestCode(_ id: String, secret: String, verdict: EmailClassification) throws {
        let outcome: Result<Void, Problem> = try db.transaction { db in
            let d = try Self.draft(id, secret: secret, in: db)
            let attempts = SignupAttemptStore(db: db)
            guard d.status == "draft" || d.status == "email_verified" else {
                return .failure(.conflict("The draft is \(d.status); its work email can no longer change.", type: .draftClosed))
            }
            guard verdict.classification == .work || verdict.classification == .existingTenant, let address = verdict.address else {
                try attempts.record(requester, step: "otp_send", email: verdict.address, domain: verdict.domain,
                                    outcome: "refused_\(verdict.classification.rawValue)", draftId: id)
                return .failure(.validation("workEmail", "must be a work address (\(verdict.reason))"))
            }
            if let since = d.secondsSinceCodeRequest, since < limits.resendCooldownSeconds {
                return .failure(Problem(429, type: .resendCooldown, detail: "Wait before requesting another code.",
                                        headers: [("retry-after", String(limits.resendCooldownSeconds - since))]))
            }
            if d.sends >= limits.maxSendsPerDraft {
                return .failure(Problem(429, type: .sendLimit, detail: "This draft has used all its codes."))
            }
            // Limits that add up across drafts, taken together and atomically with the send.
            let domain = verdict.domain ?? ""
            let mailbox = Hex.encode(requester.keyedHash((try? EmailAddress.parse(address).get())?.mailbox ?? address.lowercased()))
            if let (spent, wait) = try TrialRateCounterStore(db: db).take([
                .init(.mailboxDay, key: mailbox, max: limits.maxSendsPerAddressPerDay),
                .init(.domainHour, key: domain, max: limits.maxSendsPerDomainPerHour),
                .init(.domainDay, key: domain, max: limits.maxSendsPerDomainPerDay),
                .init(.globalHour, key: "all", max: limits.maxSendsPerHour),
            ]) {
                try attempts.record(requester, step: "otp_send", email: address, domain: verdict.domain,
                                    outcome: "rate_limited_\(spent.scope.rawValue)", draftId: id)
                let detail: String
                switch spent.scope {
                case .mailboxDay: detail = "Too many codes were sent to this mailbox today."
                case .domainHour, .domainDay: detail = "Too many codes were sent to this domain; try again later."
                default:
                    detail = "The service is sending too many codes right now; try again later."
                    logger.warning("trial send budget exhausted", ["perHour": .int(limits.maxSendsPerHour), "retryAfter": .int(wait)])
                }
                return .failure(Problem(429, type: .sendLimit, detail: detail, headers: [("retry-after", String(wait))]))
            }
            try TrialDraftStore(db: db).startCode(id, workEmail: address)
            try EmailOutboxStore(db: db).enqueueWorkEmailCode(to: address, draftId: id, generation: d.generation + 1,
                                                                traceId: requester.traceId)
            try attempts.record(requester, step: "otp_send", email: address, domain: verdict.domain, outcome: "sent", draftId: id)
            return .success(())
        }
        try outcome.get()
    }

    /// Checks a code; the attempt counts before the comparison, and failures still commit.
    public func verifyCode(_ id: String, secret: String, code given: String) throws {
        let outcome: Result<Void, Problem> = try db.transaction { db in
            let d = try Self.draft(id, secret: secret, in: db)
            let drafts = TrialDraftStore(db: db)
            func fail(_ type: ProblemType, _ detail: String, logAs: String) throws -> Result<Void, Problem> {
                try SignupAttemptStore(db: db).record(requester, step: "otp_verify", email: d.workEmail, domain: nil,
                                                      outcome: logAs, draftId: id)
                return .failure(Problem(422, type: type, detail: detail))
            }
            guard d.status == "draft" else { return .failure(.conflict("The draft is \(d.status).", type: .draftClosed)) }
            guard d.hasCode else { return try fail(.noActiveCode, "There is no active code: request one.", logAs: "no_code") }
            if d.expired {
                try drafts.clearCode(id)
                return try fail(.codeExpired, "The code has expired: request a new one.", logAs: "expired")
            }
            let attempts = d.attempts + 1
            let expected = try drafts.countCodeAttempt(id, attempts: attempts) ?? []
            let code = given.trimmingCharacters(in: .whitespaces)
            let hash = OneTimeCode.hash(code: code, draftId: id, generation: d.generation, key: requester.hashKey)
            let matches = constantTimeEquals(expected, hash) && code.utf8.count == limits.codeDigits
            if matches && attempts <= limits.maxCodeAttempts {
                try drafts.markVerified(id)
                try SignupAttemptStore(db: db).record(requester, step: "otp_verify", email: d.workEmail, domain: nil,
                                                      outcome: "verified", draftId: id)
                return .success(())
            }
            if attempts >= limits.maxCodeAttempts {
                try drafts.clearCode(id)
                return try fail(.tooManyAttempts, "Too many wrong codes: this code is no longer valid; request a new one.",
                                logAs: "locked")
            }
            return try fail(.wrongCode, "The code is not right (\(limits.maxCodeAttempts - attempts) attempts left).", logAs: "wrong")
        }
        try outcome.get()
    }

    /// Field complaints about the details (trimmed values are what gets stored).
    public static func problems(_ details: TrialDraftStore.Details) -> [Problem.InvalidParam] {
        var problems: [Problem.InvalidParam] = []
        func text(_ value: String, _ name: String, _ max: Int) {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > max { problems.append(.init(name: name, reason: "must be 1 to \(max) characters")) }
            if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) {
                problems.append(.init(name: name, reason: "must not contain control characters"))
            }
        }
        text(details.companyName, "companyName", 200)
        text(details.contactName, "contactName", 200)
        text(details.useCase, "useCase", 2000)
        if !(details.country.utf8.count == 2 && details.country.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 })) {
            problems.append(.init(name: "country", reason: "must be an ISO 3166-1 alpha-2 code such as KR"))
        }
        if !companySizes.contains(details.companySize) {
            problems.append(.init(name: "companySize", reason: "must be one of \(companySizes.joined(separator: ", "))"))
        }
        return problems
    }

    /// Sends the verified draft to review (details already checked with `problems`).
    public func submit(_ id: String, secret: String, details: TrialDraftStore.Details) throws {
        let trimmed = TrialDraftStore.Details(
            companyName: details.companyName.trimmingCharacters(in: .whitespacesAndNewlines),
            contactName: details.contactName.trimmingCharacters(in: .whitespacesAndNewlines),
            country: details.country, companySize: details.companySize,
            useCase: details.useCase.trimmingCharacters(in: .whitespacesAndNewlines))
        try db.transaction { db in
            let d = try Self.draft(id, secret: secret, in: db)
            guard d.status == "email_verified" else {
                throw Problem.conflict(d.status == "draft" ? "Verify the work email first." : "The draft is \(d.status).",
                                       type: .draftNotReady)
            }
            try TrialDraftStore(db: db).submit(id, details: trimmed)
            try SignupAttemptStore(db: db).record(requester, step: "submit_details", email: d.workEmail, domain: nil,
                                                  outcome: "submitted", draftId: id)
        }
    }
}
