import Crypto
import Postgres

/// Keyed hashes for the attempt log and one-time codes, and the log itself.
public enum SignupLog {
    public static func keyedHash(_ value: String, key: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: key, message: Array(value.utf8))
    }

    public static func record(_ db: PostgresConnection, context: RequestContext, key: [UInt8], step: String,
                              email: String?, domain: String?, outcome: String, draftId: String? = nil) throws {
        let emailHash = email.map { keyedHash($0.lowercased(), key: key) }
        let ipHash = keyedHash(context.request.remoteAddress, key: key)
        try db.query("""
            INSERT INTO signup_attempts (trace_id, step, email_domain, email_hash, ip_hash, outcome, draft_id)
            VALUES (\(context.traceId), \(step), \(domain), \(emailHash), \(ipHash), \(outcome), \(draftId)::uuid)
            """)
    }
}

extension RequestContext {
    /// The hash key, or 503: the trial funnel cannot log or issue codes without it.
    func requireHashKey() throws -> [UInt8] {
        guard let key = settings.hashKey else {
            throw HTTPError(503, slug: "trial-not-configured", detail: "The trial funnel is not configured on this server.")
        }
        return key
    }
}
