import ControlPlaneCore
import OpenSSLCrypto
import FastCGI
import Postgres

/// `GET /internal/tenants-directory`: keyset pages of tenants in id order, encoded from
/// the raw rows (PostgreSQL returns plain columns; building the JSON here is cheaper on
/// the database, which is the scarce CPU), with a strong ETag for pollers.
enum DirectoryHandler {
    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireScope(.tenantsRead)
        var query = context.query
        let limit = query.limit(default: 50, max: 500), cursor = query.cursor(parts: 1)
        let filter = TenantStore.DirectoryFilter(
            status: query.oneOf("status", TenantStatus.self)?.rawValue,
            connectorKind: query.oneOf("connectorKind", CredentialReference.connectorKinds),
            updatedSince: query.timestamp("updatedSince"))
        if let cursor, !TenantValidation.isUUID(cursor.parts[0]) { query.refuse("cursor", "is not a cursor this API returned") }
        try query.finish()
        let page = try TenantStore(db: context.database).directoryPage(after: cursor, limit: limit, filter: filter)
        let rows = page.items
        let tenant = try TenantJSON(rows)
        let body = JSONWriter.list(count: page.count, nextCursor: page.nextCursor?.encoded, capacity: 420 * page.count + 64) { json, row in
            tenant.write(rows, row: row, to: &json)
        }
        return conditional(body, request: context.request)
    }

    /// 304 without a body when the client already holds this exact representation.
    static func conditional(_ body: [UInt8], request: Request) -> Response {
        let etag = "\"" + Base64.encode(SHA256.hash(body).prefix(18), url: true) + "\""
        var response: Response
        if let match = request.headers["if-none-match"], matches(match, etag) {
            response = Response(status: 304)
        } else {
            response = Response.jsonBytes(body)
        }
        response.headers.add("etag", etag)
        response.headers.add("cache-control", "no-cache")
        return response
    }

    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var value = candidate.trimmingCharacters(in: .whitespaces)
            if value == "*" { return true }
            if value.hasPrefix("W/") { value = String(value.dropFirst(2)) }
            return value == etag
        }
    }
}
