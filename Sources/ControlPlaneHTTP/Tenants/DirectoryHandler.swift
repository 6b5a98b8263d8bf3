import ControlPlaneCore
import OpenSSLCrypto
import FastCGI
import Postgres

/// `GET /internal/tenants-directory`: keyset pages of tenants in id order, answered from the
/// process's in-memory directory (`TenantDirectory`) with a strong ETag; a poller's
/// revalidation costs no database round trip and no encoding.
enum DirectoryHandler {
    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireScope(.tenantsRead)
        var query = context.query
        let limit = query.limit(default: 50, max: 500), cursor = query.cursor(parts: 1)
        let status = query.oneOf("status", TenantStatus.self)?.rawValue
        let connectorKind = query.oneOf("connectorKind", CredentialReference.connectorKinds)
        let updatedSince = query.timestamp("updatedSince")
        var after: UInt128?
        if let cursor {
            after = TenantValidation.isUUID(cursor.parts[0]) ? TenantDirectory.uuidBits(cursor.parts[0]) : nil
            if after == nil { query.refuse("cursor", "is not a cursor this API returned") }
        }
        try query.finish()
        let page = try context.tenantSnapshot().page(.init(after: after, limit: limit, status: status, connectorKind: connectorKind,
                                                           updatedSinceMicros: updatedSince.flatMap(RFC3339.microseconds)))
        var response: Response
        if let match = context.request.headers["if-none-match"], matches(match, page.etag) {
            response = Response(status: 304)
        } else {
            response = Response.jsonBytes(page.body)
        }
        response.headers.add("etag", page.etag)
        response.headers.add("cache-control", "no-cache")
        return response
    }

    /// If-None-Match holds `etag` (weak comparison, RFC 9110 §13.1.2, or `*`).
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var value = candidate.trimmingCharacters(in: .whitespaces)
            if value == "*" { return true }
            if value.hasPrefix("W/") { value = String(value.dropFirst(2)) }
            return value == etag
        }
    }
}
