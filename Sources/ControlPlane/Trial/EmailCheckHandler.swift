import FastCGI
import Foundation

/// `POST /v1/trial/email/check` (public `/api/trial/email/check`): classify, log the attempt
/// (one statement, which also answers existing_tenant for work domains), answer.
enum EmailCheckHandler {
    /// `{"email": "…"}` and nothing else, read with the scanner: this is the funnel's hot
    /// path, and Foundation's decoders cost more than the rest of the request.
    static func emailField(_ context: RequestContext) throws -> String {
        if let type = context.request.headers["content-type"] {
            let media = type.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard media == "application/json" else {
                throw HTTPError(415, slug: "unsupported-media-type", detail: "Send the body as application/json.")
            }
        } else {
            throw HTTPError(415, slug: "unsupported-media-type", detail: "Send the body as application/json.")
        }
        let value: String?
        do {
            value = try JSONScanner.withDocument(context.request.body, maxDepth: 8) { scanner, root -> String? in
                guard root.kind == .object else { throw HTTPError.badRequest("The body must be a JSON object.", slug: "malformed-json") }
                var email: String?
                for (name, member) in try scanner.members(of: root) {
                    guard name == "email" else {
                        throw HTTPError.validation([.init(name: String(name.prefix(64)), reason: "is not a known field")])
                    }
                    guard member.kind == .string else { throw HTTPError.badRequest("email has the wrong type.", slug: "malformed-json") }
                    email = try scanner.string(at: member)
                }
                return email
            }
        } catch let error as JSONScanner.Failure {
            _ = error
            throw HTTPError.badRequest("The body is not valid JSON.", slug: "malformed-json")
        }
        guard let value else { throw HTTPError.badRequest("email is required.", slug: "malformed-json") }
        return value
    }

    @Sendable static func check(_ context: RequestContext) throws -> Response {
        let key = try context.requireHashKey()
        let email = try emailField(context)
        var result = EmailClassifier.classify(email, table: context.dictionary.table)
        let emailHash = result.address.map { SignupLog.keyedHash($0.lowercased(), key: key) }
        let ipHash = SignupLog.keyedHash(context.request.remoteAddress, key: key)
        if result.classification == .work, let domain = result.domain {
            let rows = try context.database.query("""
                WITH existing AS (
                    SELECT EXISTS (SELECT 1 FROM tenants_master WHERE contact_domain = \(domain) AND status <> 'deprovisioned') AS hit)
                INSERT INTO signup_attempts (trace_id, step, email_domain, email_hash, ip_hash, outcome)
                SELECT \(context.traceId), 'email_check', \(domain), \(emailHash), \(ipHash),
                       CASE WHEN existing.hit THEN 'existing_tenant' ELSE 'work' END
                FROM existing
                RETURNING outcome
                """)
            if try rows.decode(0, 0, as: String.self) == "existing_tenant" { result = EmailClassifier.existingTenant(result) }
        } else {
            try context.database.query("""
                INSERT INTO signup_attempts (trace_id, step, email_domain, email_hash, ip_hash, outcome)
                VALUES (\(context.traceId), 'email_check', \(result.domain), \(emailHash), \(ipHash), \(result.classification.rawValue))
                """)
        }
        var json = JSONWriter(capacity: 160)
        json.beginObject()
        json.key("classification"); json.string(result.classification.rawValue)
        json.key("domain"); json.string(result.domain)
        json.key("next"); json.string(result.next.rawValue)
        json.key("reason"); json.string(result.reason)
        json.endObject()
        var response = Response.jsonBytes(json.bytes)
        response.headers.add("cache-control", "no-store")
        return response
    }
}
