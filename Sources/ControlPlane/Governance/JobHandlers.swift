import Crypto
import FastCGI
import Postgres

/// `/control/v1/jobs…`: synchronized preflight jobs. Payloads are served as the exact
/// bytes the registry sent (stored as bytea, read in binary), never re-encoded.
enum JobHandlers {
    /// `GET /control/v1/jobs?region=&status=&updatedSince=&updatedBefore=&limit=&cursor=`,
    /// keyset-paginated in (region, jobId) order.
    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var limit = 100, region: String?, status: String?, since: String?, before: String?
        var afterRegion = "", afterJob = ""
        var problems: [HTTPError.InvalidParam] = []
        for (name, value) in context.request.queryItems {
            switch name {
            case "limit":
                if let n = Int(value), (1...1000).contains(n) { limit = n } else { problems.append(.init(name: "limit", reason: "must be 1 to 1000")) }
            case "region": region = value
            case "status": status = value
            case "updatedSince":
                if RFC3339.isValid(value) { since = value } else { problems.append(.init(name: "updatedSince", reason: "must be an RFC 3339 date-time")) }
            case "updatedBefore":
                if RFC3339.isValid(value) { before = value } else { problems.append(.init(name: "updatedBefore", reason: "must be an RFC 3339 date-time")) }
            case "cursor":
                if let bytes = Base64.decode(value, url: true), let text = String(validating: bytes, as: UTF8.self),
                   let split = text.firstIndex(of: "\n") {
                    afterRegion = String(text[..<split]); afterJob = String(text[text.index(after: split)...])
                } else {
                    problems.append(.init(name: "cursor", reason: "is not a cursor this API returned"))
                }
            default: problems.append(.init(name: String(name.prefix(64)), reason: "is not a known parameter"))
            }
        }
        if !problems.isEmpty {
            throw HTTPError(400, slug: "invalid-parameter", detail: "See invalidParams.", invalidParams: problems)
        }
        let rows = try context.database.query("""
            SELECT region_id, job_id, status, updated_at, encode(payload_sha256, 'hex'), current_revision
            FROM jobs
            WHERE (region_id, job_id) > (\(afterRegion), \(afterJob))
              AND (\(region)::text IS NULL OR region_id = \(region))
              AND (\(status)::text IS NULL OR status = \(status))
              AND (\(since)::timestamptz IS NULL OR updated_at >= \(since)::timestamptz)
              AND (\(before)::timestamptz IS NULL OR updated_at < \(before)::timestamptz)
            ORDER BY region_id, job_id
            LIMIT \(limit + 1)
            """, retryOnConnectionLoss: true)
        let count = min(rows.count, limit)
        var next: String?
        if rows.count > limit {
            let cursor = try rows.decode(count - 1, 0, as: String.self) + "\n" + rows.decode(count - 1, 1, as: String.self)
            next = Base64.encode(Array(cursor.utf8), url: true)
        }
        let body = try JSONWriter.list(count: count, nextCursor: next, capacity: 200 * count + 64) { json, row in
            json.beginObject()
            json.key("region"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("jobId"); rows.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("status"); rows.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("updatedAt"); rows.withBytes(row, 3) { Timestamp.write($0, to: &json) }
            json.key("payloadSha256"); rows.withBytes(row, 4) { json.string(utf8: $0) }
            json.key("revision"); json.int(try rows.decode(row, 5, as: Int.self))
            json.endObject()
        }
        return .jsonBytes(body)
    }

    /// `GET /control/v1/regions/{region}/jobs/{jobId}`: the job and every revision, each
    /// with its `canonicalPayload` inserted verbatim.
    @Sendable static func get(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let region = context.parameter("region"), jobId = context.parameter("jobId")
        let job = try context.database.query("""
            SELECT status, updated_at, node_id, current_revision, encode(payload_sha256, 'hex'), first_seen_at, last_synced_at
            FROM jobs WHERE region_id = \(region) AND job_id = \(jobId)
            """, retryOnConnectionLoss: true)
        guard job.count == 1 else { throw HTTPError.notFound("No such job in this region.") }
        let revisions = try context.database.query("""
            SELECT revision::text, status, updated_at_text, encode(payload_sha256, 'hex'), received_at::text, payload
            FROM job_revisions WHERE region_id = \(region) AND job_id = \(jobId) ORDER BY revision
            """, retryOnConnectionLoss: true, binaryResults: true)
        var json = JSONWriter(capacity: 512 + revisions.count * 1024)
        json.beginObject()
        json.key("region"); json.string(region)
        json.key("jobId"); json.string(jobId)
        json.key("status"); job.withBytes(0, 0) { json.string(utf8: $0) }
        json.key("updatedAt"); job.withBytes(0, 1) { Timestamp.write($0, to: &json) }
        json.key("nodeId"); job.withBytes(0, 2) { json.string(utf8: $0) }
        json.key("currentRevision"); json.int(try job.decode(0, 3, as: Int.self))
        json.key("payloadSha256"); job.withBytes(0, 4) { json.string(utf8: $0) }
        json.key("firstSeenAt"); job.withBytes(0, 5) { Timestamp.write($0, to: &json) }
        json.key("lastSyncedAt"); job.withBytes(0, 6) { Timestamp.write($0, to: &json) }
        json.key("revisions")
        json.beginArray()
        for row in 0..<revisions.count {
            json.beginObject()
            json.key("revision"); json.int(try revisions.decode(row, 0, as: Int.self))
            json.key("status"); revisions.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("updatedAt"); revisions.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("payloadSha256"); revisions.withBytes(row, 3) { json.string(utf8: $0) }
            json.key("receivedAt"); revisions.withBytes(row, 4) { Timestamp.write($0, to: &json) }
            json.key("canonicalPayload"); revisions.withBytes(row, 5) { json.raw(Array($0 ?? UnsafeBufferPointer(start: nil, count: 0))) }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .jsonBytes(json.bytes)
    }

    /// `GET /control/v1/regions/{region}/jobs/{jobId}/canonical-payload[?revision=n]`: the
    /// stored bytes as the body, with `Repr-Digest: sha-256=:…:` (RFC 9530).
    @Sendable static func canonicalPayload(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let region = context.parameter("region"), jobId = context.parameter("jobId")
        var revision: Int?
        for (name, value) in context.request.queryItems {
            guard name == "revision", let n = Int(value), n >= 1 else {
                throw HTTPError(400, slug: "invalid-parameter", detail: "Only revision (a positive integer) is accepted.",
                                invalidParams: [.init(name: String(name.prefix(64)), reason: "is not valid here")])
            }
            revision = n
        }
        let rows = try context.database.query("""
            SELECT r.payload, r.payload_sha256, r.revision::text
            FROM jobs j JOIN job_revisions r ON r.region_id = j.region_id AND r.job_id = j.job_id
                 AND r.revision = COALESCE(\(revision), j.current_revision)
            WHERE j.region_id = \(region) AND j.job_id = \(jobId)
            """, retryOnConnectionLoss: true, binaryResults: true)
        guard rows.count == 1 else { throw HTTPError.notFound("No such job or revision in this region.") }
        let payload: [UInt8] = rows.withBytes(0, 0) { Array($0!) }
        let digest: [UInt8] = rows.withBytes(0, 1) { Array($0!) }
        var response = Response(status: 200, body: payload)
        response.headers.add("content-type", "application/json")
        response.headers.add("repr-digest", "sha-256=:\(Base64.encode(digest)):")
        response.headers.add("etag", "\"\(Hex.encode(digest))\"")
        response.headers.add("x-job-revision", try rows.decode(0, 2, as: String.self))
        response.headers.add("cache-control", "no-cache")
        return response
    }
}
