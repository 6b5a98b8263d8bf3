import ControlPlaneCore
import FastCGI

/// `/v1/trial/manual-approval/*`: a draft (with a secret that authorizes every later step),
/// a one-time code to a work address, its verification, the company details, the status.
/// The steps themselves are `TrialDrafts`'; these read the request and write the answer.
enum DraftHandlers {
    struct CreateBody: Decodable { var email: String }
    struct OTPBody: Decodable { var workEmail: String }
    struct VerifyBody: Decodable { var code: String }
    struct DetailsBody: Decodable {
        var companyName: String, contactName: String, country: String, companySize: String, useCase: String
    }

    static func drafts(_ context: RequestContext) throws -> TrialDrafts {
        TrialDrafts(db: context.database, requester: try context.signupRequester(), limits: context.settings.trial, logger: context.logger)
    }

    /// The draft secret from `Authorization: Bearer …` (401 without one).
    static func secret(_ context: RequestContext) throws -> String {
        guard let secret = ServiceToken.bearer(from: context.request.headers["authorization"]), !secret.isEmpty else {
            throw Problem(401, type: .draftSecretRequired, detail: "Send the draft secret: Authorization: Bearer <draftSecret>.",
                          headers: [("www-authenticate", #"Bearer realm="trial-draft""#)])
        }
        return secret
    }

    @Sendable static func create(_ context: RequestContext) throws -> Response {
        let drafts = try drafts(context)
        let body = try context.decodeStrictJSON(CreateBody.self, allowedKeys: ["email"])
        try context.settings.botCheck?.require(context)
        guard case .success(let address) = EmailAddress.parse(body.email) else {
            throw Problem.validation("email", "must be a valid email address")
        }
        let created = try drafts.create(email: address)
        var json = JSONWriter()
        json.beginObject()
        json.key("draftId"); json.string(created.id)
        json.key("draftSecret"); json.string(created.secret)
        json.key("status"); json.string("draft")
        json.endObject()
        var response = Response.jsonBytes(json.bytes, status: 201)
        response.headers.add("cache-control", "no-store")
        return response
    }

    @Sendable static func get(_ context: RequestContext) throws -> Response {
        let secret = try secret(context)
        let d = try TrialDrafts.draft(context.parameter("draftId"), secret: secret, in: context.database)
        var json = JSONWriter()
        json.beginObject()
        json.key("draftId"); json.string(context.parameter("draftId"))
        json.key("status"); json.string(d.status)
        json.key("workEmail"); json.string(d.workEmail.map(mask))
        json.key("workEmailVerified"); json.bool(d.verified)
        // Whether the organization is a customer already: told to whoever proved a mailbox there.
        json.key("existingTenant")
        if d.verified, let work = d.workEmail, let at = work.lastIndex(of: "@") {
            json.bool(try context.tenantSnapshot()
                .hasLiveTenant(contactDomain: work[work.index(after: at)...].lowercased()))
        } else {
            json.null()
        }
        json.key("submittedAt"); json.timestamp(d.submittedAt)
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
        let drafts = try drafts(context)
        let body = try context.decodeStrictJSON(OTPBody.self, allowedKeys: ["workEmail"])
        let secret = try secret(context)
        try context.settings.botCheck?.require(context)
        let verdict = EmailClassifier.classify(body.workEmail, table: context.domainTable)
        try drafts.requestCode(context.parameter("draftId"), secret: secret, verdict: verdict)
        var json = JSONWriter()
        json.beginObject()
        json.key("status"); json.string("code_sent")
        json.key("expiresInSeconds"); json.int(context.settings.trial.codeLifetimeSeconds)
        json.endObject()
        return .jsonBytes(json.bytes, status: 202)
    }

    @Sendable static func verifyCode(_ context: RequestContext) throws -> Response {
        let drafts = try drafts(context)
        let body = try context.decodeStrictJSON(VerifyBody.self, allowedKeys: ["code"])
        try drafts.verifyCode(context.parameter("draftId"), secret: try secret(context), code: body.code)
        return .jsonBytes(Array(#"{"status":"email_verified"}"#.utf8))
    }

    @Sendable static func submitDetails(_ context: RequestContext) throws -> Response {
        let drafts = try drafts(context)
        let body = try context.decodeStrictJSON(DetailsBody.self,
                                                allowedKeys: ["companyName", "contactName", "country", "companySize", "useCase"])
        let details = TrialDraftStore.Details(companyName: body.companyName, contactName: body.contactName, country: body.country,
                                              companySize: body.companySize, useCase: body.useCase)
        let problems = TrialDrafts.problems(details)
        guard problems.isEmpty else { throw Problem.validation(problems) }
        try drafts.submit(context.parameter("draftId"), secret: try secret(context), details: details)
        return .jsonBytes(Array(#"{"status":"submitted"}"#.utf8), status: 202)
    }

    /// Former SMS routes: SMS codes are gone.
    @Sendable static func smsGone(_ context: RequestContext) throws -> Response {
        throw Problem(410, type: .smsRemoved, title: "Gone",
                      detail: "SMS codes are no longer offered; verify a work email instead (…/work-email/otp).")
    }
}
