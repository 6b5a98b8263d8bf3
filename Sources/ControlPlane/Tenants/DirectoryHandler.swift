import Crypto
import FastCGI
import Postgres

/// `GET /internal/tenants-directory`: keyset pages of tenants in id order, encoded from
/// the raw rows (PostgreSQL returns plain columns; building the JSON here is cheaper on
/// the database, which is the scarce CPU), with a strong ETag for pollers.
enum DirectoryHandler {
    static let firstId = "00000000-0000-0000-0000-000000000000"

    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireScope(.tenantsRead)
        let query = try DirectoryQuery(context.request)
        // Pollers mostly ask for unfiltered pages: a statement without the optional
        // `($n IS NULL OR …)` predicates costs PostgreSQL a tenth less CPU per page (it
        // plans every execution afresh either way, as `LIMIT $n` makes the generic plan look costlier).
        let rows = try query.isFiltered
            ? context.database.query("""
                SELECT id, slug, display_name, status, site_hostname, plan, connector_kind, connector_credential_ref,
                       created_at, updated_at
                FROM tenants_master
                WHERE id > \(query.after)::uuid
                  AND (\(query.status)::text IS NULL OR status = \(query.status))
                  AND (\(query.connectorKind)::text IS NULL OR connector_kind = \(query.connectorKind))
                  AND (\(query.updatedSince)::timestamptz IS NULL OR updated_at >= \(query.updatedSince)::timestamptz)
                ORDER BY id
                LIMIT \(query.limit + 1)
                """, retryOnConnectionLoss: true)
            : context.database.query("""
                SELECT id, slug, display_name, status, site_hostname, plan, connector_kind, connector_credential_ref,
                       created_at, updated_at
                FROM tenants_master
                WHERE id > \(query.after)::uuid
                ORDER BY id
                LIMIT \(query.limit + 1)
                """, retryOnConnectionLoss: true)
        let pageCount = min(rows.count, query.limit)
        let tenant = try TenantJSON(rows)
        let nextCursor = rows.count > query.limit
            ? Base64.encode(Array(try rows.decode(pageCount - 1, 0, as: String.self).utf8), url: true) : nil
        let body = JSONWriter.list(count: pageCount, nextCursor: nextCursor, capacity: 420 * pageCount + 64) { json, row in
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

/// The directory's query parameters, validated (400 with the offending names).
struct DirectoryQuery {
    var limit = 50
    var after = DirectoryHandler.firstId
    var status: String?
    var connectorKind: String?
    var updatedSince: String?

    var isFiltered: Bool { status != nil || connectorKind != nil || updatedSince != nil }

    init(_ request: Request) throws {
        var problems: [HTTPError.InvalidParam] = []
        for (name, value) in request.queryItems {
            switch name {
            case "limit":
                if let n = Int(value), (1...500).contains(n) { limit = n } else { problems.append(.init(name: "limit", reason: "must be an integer from 1 to 500")) }
            case "cursor":
                if let bytes = Base64.decode(value, url: true), let id = String(validating: bytes, as: UTF8.self),
                   TenantValidation.isUUID(id) {
                    after = id
                } else {
                    problems.append(.init(name: "cursor", reason: "is not a cursor this API returned"))
                }
            case "status":
                if TenantStatus(rawValue: value) != nil { status = value } else {
                    problems.append(.init(name: "status", reason: "must be one of \(TenantStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
                }
            case "connectorKind":
                if CredentialReference.connectorKinds.contains(value) { connectorKind = value } else {
                    problems.append(.init(name: "connectorKind", reason: "must be one of \(CredentialReference.connectorKinds.joined(separator: ", "))"))
                }
            case "updatedSince":
                if RFC3339.isValid(value) { updatedSince = value } else {
                    problems.append(.init(name: "updatedSince", reason: "must be an RFC 3339 date-time"))
                }
            default:
                problems.append(.init(name: String(name.prefix(64)), reason: "is not a known parameter"))
            }
        }
        if !problems.isEmpty {
            throw HTTPError(400, slug: "invalid-parameter", title: "Query parameters are invalid",
                            detail: "One or more query parameters are invalid; see invalidParams.", invalidParams: problems)
        }
    }
}
