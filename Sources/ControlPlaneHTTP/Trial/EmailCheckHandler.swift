import ControlPlaneCore
import FastCGI
import Foundation

/// `POST /v1/trial/email/check` (public `/api/trial/email/check`): classify, find existing
/// tenants of a work domain in the in-memory directory, log the attempt (group-committed by
/// `AttemptLogWriter`), answer — with `existing_tenant` only when
/// CONTROLPLANE_TRIAL_REVEAL_EXISTING_TENANT is on. No query of its own.
enum EmailCheckHandler {
    /// `{"email": "…"}` and nothing else, read with the scanner: this is the funnel's hot
    /// path, and Foundation's decoders cost more than the rest of the request.
    static func emailField(_ context: RequestContext) throws -> String {
        if let type = context.request.headers["content-type"] {
            let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard media == "application/json" else {
                throw Problem(415, type: .unsupportedMediaType, detail: "Send the body as application/json.")
            }
        } else {
            throw Problem(415, type: .unsupportedMediaType, detail: "Send the body as application/json.")
        }
        let value: String?
        do {
            value = try JSONScanner.withDocument(context.request.body, maxDepth: 8) { scanner, root -> String? in
                guard root.kind == .object else { throw Problem.badRequest("The body must be a JSON object.", type: .malformedJSON) }
                var email: String?
                for (name, member) in try scanner.members(of: root) {
                    guard name == "email" else {
                        throw Problem.validation(name, "is not a known field")
                    }
                    guard member.kind == .string else { throw Problem.badRequest("email has the wrong type.", type: .malformedJSON) }
                    email = try scanner.string(at: member)
                }
                return email
            }
        } catch let error as JSONScanner.Failure {
            _ = error
            throw Problem.badRequest("The body is not valid JSON.", type: .malformedJSON)
        }
        guard let value else { throw Problem.badRequest("email is required.", type: .malformedJSON) }
        return value
    }

    @Sendable static func check(_ context: RequestContext) throws -> Response {
        let requester = try context.signupRequester()
        let email = try emailField(context)
        var result = EmailClassifier.classify(email, table: context.domainTable)
        var logged = result.classification.rawValue
        if result.classification == .work, let domain = result.domain,
           try context.tenantSnapshot().hasLiveTenant(contactDomain: domain) {
            logged = EmailClassification.Kind.existingTenant.rawValue
        }
        let row = AttemptLogWriter.Row(
            traceId: requester.traceId, domain: result.domain, emailHash: result.address.map { requester.keyedHash($0.lowercased()) },
            ipHash: requester.keyedHash(requester.remoteAddress), outcome: logged)
        // The attempt log keeps the truth; the internet learns it only where the site allows.
        if logged == "existing_tenant" && context.settings.trial.revealExistingTenant { result = EmailClassifier.existingTenant(result) }
        var json = JSONWriter(capacity: 160)
        json.beginObject()
        json.key("classification"); json.string(result.classification.rawValue)
        json.key("domain"); json.string(result.domain)
        json.key("next"); json.string(result.next.rawValue)
        json.key("reason"); json.string(result.reason)
        json.endObject()
        var response = Response.jsonBytes(json.bytes)
        response.headers.add("cache-control", "no-store")
        // Answered once the row is committed, by the attempt log's writer thread.
        let attemptLog = context.attemptLog, answer = response
        return context.answerLater { done in
            attemptLog.append(row) { committed in done(committed.map { answer }) }
        }
    }
}
