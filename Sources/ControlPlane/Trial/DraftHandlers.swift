import Crypto
import FastCGI
import Foundation
import Postgres

/// `/v1/trial/manual-approval/*`: a draft (with a secret that authorizes every later step),
/// a one-time code to a work address, its verification, the company details, the status.
enum DraftHandlers {
    static let secretPrefix = "cpds_"

    struct CreateBody: Decodable { var email: String }
    struct OTPBody: Decodable { var workEmail: String }
    struct VerifyBody: Decodable { var code: String }
    struct DetailsBody: Decodable {
        var companyName: String, contactName: String, country: String, companySize: String, useCase: String
    }

    static let companySizes = ["1-10", "11-50", "51-200", "201-1000", "1001+"]

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let key = try context.requireHashKey()
        let body = try context.decodeStrictJSON(CreateBody.self, allowedKeys: ["email"])
        guard case .success(let address) = EmailAddress.parse(body.email) else {
            throw HTTPError.validation([.init(name: "email", reason: "must be a valid email address")])
        }
        let secret = secretPrefix + Base64.encode(SecureRandom.bytes(32), url: true)
        let id = try context.database.transaction { db -> String in
            let rows = try db.query("""
                INSERT INTO trial_drafts (secret_hash, email) VALUES (\(SHA256.hash(secret)), \(address.normalized)) RETURNING id::text
                """)
            let id = try rows.decode(0, 0, as: String.self)
            try SignupLog.record(db, context: context, key: key, step: "draft", email: address.normalized, domain: address.domain,
                                 outcome: "created", draftId: id)
            return id
        }
        var json = JSONWriter()
        json.beginObject()
        json.key("draftId"); json.string(id)
        json.key("draftSecret"); json.string(secret)
        json.key("status"); json.string("draft")
        json.endObject()
        var response = Response.jsonBytes(json.bytes, status: 201)
        response.headers.add("cache-control", "no-store")
        return response
    }

    struct Draft {
        let id: String, status: String, workEmail: String?, verified: Bool
        let generation: Int, hasCode: Bool, expired: Bool, attempts: Int, sends: Int
        let cooldownLeft: Int
        let submittedAt: String?
    }

    /// The draft named in the path, if the bearer secret is its own. Unknown draft and wrong
    /// secret look the same (404), so drafts cannot be probed.
    /// Read `FOR UPDATE`: inside the callers' transactions it serializes steps on one draft;
    /// for a plain read it lasts only for the statement.
    static func draft(_ context: RequestContext, in db: PostgresConnection) throws -> Draft {
        let id = context.parameter("draftId")
        guard let secret = ServiceToken.bearer(from: context.request.headers["authorization"]), !secret.isEmpty else {
            throw HTTPError(401, slug: "draft-secret-required", detail: "Send the draft secret: Authorization: Bearer <draftSecret>.",
                            headers: [("www-authenticate", #"Bearer realm="trial-draft""#)])
        }
        guard TenantValidation.isUUID(id), secret.hasPrefix(secretPrefix), secret.utf8.count == 48 else {
            throw HTTPError.notFound("No such draft.")
        }
        let cooldown = context.settings.trial.resendCooldownSeconds
        let rows = try db.query("""
            SELECT secret_hash, status, work_email, work_email_verified_at IS NOT NULL, otp_generation, otp_hash IS NOT NULL,
                   COALESCE(otp_expires_at < now(), false), otp_attempts, otp_sends,
                   GREATEST(0, ceil(extract(epoch FROM (otp_requested_at + make_interval(secs => \(cooldown)) - now()))))::int,
                   submitted_at
            FROM trial_drafts WHERE id = \(id)::uuid FOR UPDATE
            """)
        guard rows.count == 1 else { throw HTTPError.notFound("No such draft.") }
        let stored: [UInt8] = try rows.decode(0, 0)
        guard constantTimeEquals(stored, SHA256.hash(secret)) else { throw HTTPError.notFound("No such draft.") }
        return Draft(id: id, status: try rows.decode(0, 1), workEmail: try rows.decodeIfPresent(0, 2), verified: try rows.decode(0, 3),
                     generation: try rows.decode(0, 4), hasCode: try rows.decode(0, 5), expired: try rows.decode(0, 6),
                     attempts: try rows.decode(0, 7), sends: try rows.decode(0, 8),
                     cooldownLeft: try rows.decodeIfPresent(0, 9) ?? 0, submittedAt: try rows.decodeIfPresent(0, 10))
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        let d = try draft(context, in: context.database)
        var json = JSONWriter()
        json.beginObject()
        json.key("draftId"); json.string(d.id)
        json.key("status"); json.string(d.status)
        json.key("workEmail"); json.string(d.workEmail.map(mask))
        json.key("workEmailVerified"); json.bool(d.verified)
        json.key("submittedAt")
        if var text = d.submittedAt { text.withUTF8 { json.timestamp(postgresText: $0) } } else { json.null() }
        json.endObject()
        var response = Response.jsonBytes(json.bytes)
        response.headers.add("cache-control", "no-store")
        return response
    }

    /// `j***@acme.com`: enough for the person to recognise it, not to harvest it.
    static func mask(_ address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return "***" }
        return String(address.prefix(1)) + "***" + address[at...]
    }

    @Sendable static func requestCode(_ context: RequestContext) throws -> Response {
        let key = try context.requireHashKey()
        let body = try context.decodeStrictJSON(OTPBody.self, allowedKeys: ["workEmail"])
        let verdict = EmailClassifier.classify(body.workEmail, table: context.dictionary.table)
        let limits = context.settings.trial
        let outcome: Result<Void, HTTPError> = try context.database.transaction { db in
            let d = try draft(context, in: db)
            guard d.status == "draft" || d.status == "email_verified" else {
                return .failure(HTTPError.conflict("The draft is \(d.status); its work email can no longer change.", slug: "draft-closed"))
            }
            guard verdict.classification == .work || verdict.classification == .existingTenant, let address = verdict.address else {
                try SignupLog.record(db, context: context, key: key, step: "otp_send", email: verdict.address, domain: verdict.domain,
                                     outcome: "refused_\(verdict.classification.rawValue)", draftId: d.id)
                return .failure(HTTPError.validation([.init(name: "workEmail", reason: "must be a work address (\(verdict.reason))")]))
            }
            if d.cooldownLeft > 0 {
                return .failure(HTTPError(429, slug: "resend-cooldown", detail: "Wait before requesting another code.",
                                          headers: [("retry-after", String(d.cooldownLeft))]))
            }
            if d.sends >= limits.maxSendsPerDraft {
                return .failure(HTTPError(429, slug: "send-limit", detail: "This draft has used all its codes."))
            }
            let emailHash = SignupLog.keyedHash(address.lowercased(), key: key)
            let sentToday = try db.query("""
                SELECT count(*)::int FROM signup_attempts
                WHERE email_hash = \(emailHash) AND step = 'otp_send' AND outcome = 'sent' AND occurred_at > now() - interval '1 day'
                """).decode(0, 0, as: Int.self)
            if sentToday >= limits.maxSendsPerAddressPerDay {
                try SignupLog.record(db, context: context, key: key, step: "otp_send", email: address, domain: verdict.domain,
                                     outcome: "rate_limited", draftId: d.id)
                return .failure(HTTPError(429, slug: "send-limit", detail: "Too many codes were sent to this address today.",
                                          headers: [("retry-after", "3600")]))
            }
            // The old code dies now; the sync makes the new one when it sends the email, so no
            // code is ever stored in clear, not even in the outbox.
            try db.query("""
                UPDATE trial_drafts SET work_email = \(address), work_email_verified_at = NULL, status = 'draft',
                       otp_generation = otp_generation + 1, otp_hash = NULL, otp_expires_at = NULL, otp_attempts = 0,
                       otp_sends = otp_sends + 1, otp_requested_at = now(), updated_at = now()
                WHERE id = \(d.id)::uuid
                """)
            try db.query("""
                INSERT INTO email_outbox (template, to_address, draft_id, otp_generation)
                VALUES ('work_email_otp', \(address), \(d.id)::uuid, \(d.generation + 1))
                """)
            try SignupLog.record(db, context: context, key: key, step: "otp_send", email: address, domain: verdict.domain,
                                 outcome: "sent", draftId: d.id)
            return .success(())
        }
        if case .failure(let error) = outcome { throw error }
        var json = JSONWriter()
        json.beginObject()
        json.key("status"); json.string("code_sent")
        json.key("expiresInSeconds"); json.int(limits.codeLifetimeSeconds)
        json.endObject()
        return .jsonBytes(json.bytes, status: 202)
    }

    @Sendable static func verifyCode(_ context: RequestContext) throws -> Response {
        let key = try context.requireHashKey()
        let body = try context.decodeStrictJSON(VerifyBody.self, allowedKeys: ["code"])
        let limits = context.settings.trial
        // Failures still commit (the attempt counts before the comparison), then answer 4xx.
        let outcome: Result<Void, HTTPError> = try context.database.transaction { db in
            let d = try draft(context, in: db)
            func fail(_ slug: String, _ detail: String, logAs: String) throws -> Result<Void, HTTPError> {
                try SignupLog.record(db, context: context, key: key, step: "otp_verify", email: d.workEmail, domain: nil,
                                     outcome: logAs, draftId: d.id)
                return .failure(HTTPError(422, slug: slug, detail: detail))
            }
            guard d.status == "draft" else {
                return .failure(HTTPError.conflict("The draft is \(d.status).", slug: "draft-closed"))
            }
            guard d.hasCode else { return try fail("no-active-code", "There is no active code: request one.", logAs: "no_code") }
            if d.expired {
                try db.query("UPDATE trial_drafts SET otp_hash = NULL WHERE id = \(d.id)::uuid")
                return try fail("code-expired", "The code has expired: request a new one.", logAs: "expired")
            }
            let attempts = d.attempts + 1
            try db.query("UPDATE trial_drafts SET otp_attempts = \(attempts), updated_at = now() WHERE id = \(d.id)::uuid")
            let code = body.code.trimmingCharacters(in: .whitespaces)
            let expected = try db.query("SELECT otp_hash FROM trial_drafts WHERE id = \(d.id)::uuid").decode(0, 0, as: [UInt8].self)
            let given = OneTimeCode.hash(code: code, draftId: d.id, generation: d.generation, key: key)
            let matches = constantTimeEquals(expected, given) && code.utf8.count == limits.codeDigits
            if matches && attempts <= limits.maxCodeAttempts {
                try db.query("""
                    UPDATE trial_drafts SET status = 'email_verified', work_email_verified_at = now(), otp_hash = NULL,
                           otp_expires_at = NULL, updated_at = now() WHERE id = \(d.id)::uuid
                    """)
                try SignupLog.record(db, context: context, key: key, step: "otp_verify", email: d.workEmail, domain: nil,
                                     outcome: "verified", draftId: d.id)
                return .success(())
            }
            if attempts >= limits.maxCodeAttempts {
                try db.query("UPDATE trial_drafts SET otp_hash = NULL WHERE id = \(d.id)::uuid")
                return try fail("too-many-attempts", "Too many wrong codes: this code is no longer valid; request a new one.",
                                logAs: "locked")
            }
            return try fail("wrong-code", "The code is not right (\(limits.maxCodeAttempts - attempts) attempts left).", logAs: "wrong")
        }
        if case .failure(let error) = outcome { throw error }
        return .jsonBytes(Array(#"{"status":"email_verified"}"#.utf8))
    }

    @Sendable static func submitDetails(_ context: RequestContext) throws -> Response {
        let key = try context.requireHashKey()
        let body = try context.decodeStrictJSON(DetailsBody.self,
                                                allowedKeys: ["companyName", "contactName", "country", "companySize", "useCase"])
        var problems: [HTTPError.InvalidParam] = []
        func text(_ value: String, _ name: String, _ max: Int) {
            let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty || trimmed.count > max { problems.append(.init(name: name, reason: "must be 1 to \(max) characters")) }
            if value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" }) {
                problems.append(.init(name: name, reason: "must not contain control characters"))
            }
        }
        text(body.companyName, "companyName", 200)
        text(body.contactName, "contactName", 200)
        text(body.useCase, "useCase", 2000)
        if !(body.country.utf8.count == 2 && body.country.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 })) {
            problems.append(.init(name: "country", reason: "must be an ISO 3166-1 alpha-2 code such as KR"))
        }
        if !companySizes.contains(body.companySize) {
            problems.append(.init(name: "companySize", reason: "must be one of \(companySizes.joined(separator: ", "))"))
        }
        guard problems.isEmpty else { throw HTTPError.validation(problems) }
        let outcome: Result<Void, HTTPError> = try context.database.transaction { db in
            let d = try draft(context, in: db)
            guard d.status == "email_verified" else {
                return .failure(HTTPError.conflict(d.status == "draft" ? "Verify the work email first." : "The draft is \(d.status).",
                                                   slug: "draft-not-ready"))
            }
            try db.query("""
                UPDATE trial_drafts SET company_name = \(body.companyName.trimmingCharacters(in: .whitespacesAndNewlines)),
                       contact_name = \(body.contactName.trimmingCharacters(in: .whitespacesAndNewlines)), country = \(body.country),
                       company_size = \(body.companySize), use_case = \(body.useCase.trimmingCharacters(in: .whitespacesAndNewlines)),
                       status = 'submitted', submitted_at = now(), updated_at = now()
                WHERE id = \(d.id)::uuid
                """)
            try SignupLog.record(db, context: context, key: key, step: "submit_details", email: d.workEmail, domain: nil,
                                 outcome: "submitted", draftId: d.id)
            return .success(())
        }
        if case .failure(let error) = outcome { throw error }
        return .jsonBytes(Array(#"{"status":"submitted"}"#.utf8), status: 202)
    }

    /// Former SMS routes: SMS codes are gone.
    @Sendable static func smsGone(_ context: RequestContext) throws -> Response {
        throw HTTPError(410, slug: "sms-removed", title: "Gone",
                        detail: "SMS codes are no longer offered; verify a work email instead (…/work-email/otp).")
    }
}

/// One-time codes: digits from the CSPRNG, stored only as HMAC(key, draft:generation:code).
public enum OneTimeCode {
    public static func generate(digits: Int = 6) -> String {
        var limit: UInt32 = 1
        for _ in 0..<digits { limit *= 10 }
        let value = SecureRandom.uniform(below: limit)
        let text = String(value)
        return String(repeating: "0", count: digits - text.count) + text
    }

    public static func hash(code: String, draftId: String, generation: Int, key: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: key, message: Array("otp:\(draftId):\(generation):\(code)".utf8))
    }
}
