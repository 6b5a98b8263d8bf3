import FastCGI

/// `POST /v1/trial/email/check` (public `/api/trial/email/check`): classify, log the attempt
/// (one statement, which also answers existing_tenant for work domains), answer.
enum EmailCheckHandler {
    struct Body: Decodable { var email: String }

    @Sendable static func check(_ context: RequestContext) throws -> Response {
        let key = try context.requireHashKey()
        let body = try context.decodeStrictJSON(Body.self, allowedKeys: ["email"])
        var result = EmailClassifier.classify(body.email, table: context.dictionary.table)
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
