import ControlPlaneCore
import FastCGI
import OpenSSLCrypto

/// `/control/v1/jobs…`: synchronized preflight jobs. Payloads are served as the exact
/// bytes the registry sent (stored as bytea, read in binary), never re-encoded.
enum JobHandlers {
    /// `GET /control/v1/jobs?region=&status=&updatedSince=&updatedBefore=&limit=&cursor=`,
    /// keyset-paginated in (region, jobId) order; rows encoded straight from the result.
    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        var query = context.query
        let limit = query.limit(default: 100, max: 1000), cursor = query.cursor(parts: 2)
        let filter = JobStore.Filter(region: query.string("region"), status: query.string("status"),
                                     updatedSince: query.timestamp("updatedSince"), updatedBefore: query.timestamp("updatedBefore"))
        try query.finish()
        let page = try JobStore(db: context.database).list(filter, after: cursor, limit: limit)
        let rows = page.items
        // Columns in JobStore.listColumns order.
        let body = try JSONWriter.list(count: page.count, nextCursor: page.nextCursor?.encoded, capacity: 200 * page.count + 64) { json, row in
            json.beginObject()
            json.key("region"); rows.withBytes(row, 0) { json.string(utf8: $0) }
            json.key("jobId"); rows.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("status"); rows.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("updatedAt"); rows.withBytes(row, 3) { json.timestamp(postgresText: $0) }
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
        let jobs = JobStore(db: context.database)
        guard let job = try jobs.get(region: region, jobId: jobId) else { throw Problem.notFound("No such job in this region.") }
        let revisions = try jobs.revisions(region: region, jobId: jobId)
        var json = JSONWriter(capacity: 512 + revisions.count * 1024)
        json.beginObject()
        json.key("region"); json.string(region)
        json.key("jobId"); json.string(jobId)
        json.key("status"); json.string(job.status)
        json.key("updatedAt"); json.timestamp(job.updatedAt)
        json.key("nodeId"); json.string(job.nodeId)
        json.key("currentRevision"); json.int(job.currentRevision)
        json.key("payloadSha256"); json.string(job.payloadSha256)
        json.key("firstSeenAt"); json.timestamp(job.firstSeenAt)
        json.key("lastSyncedAt"); json.timestamp(job.lastSyncedAt)
        json.key("revisions")
        json.beginArray()
        // Columns in JobStore.revisionColumns order; the payload's bytes go in untouched.
        for row in 0..<revisions.count {
            json.beginObject()
            json.key("revision"); json.int(try revisions.decode(row, 0, as: Int.self))
            json.key("status"); revisions.withBytes(row, 1) { json.string(utf8: $0) }
            json.key("updatedAt"); revisions.withBytes(row, 2) { json.string(utf8: $0) }
            json.key("payloadSha256"); revisions.withBytes(row, 3) { json.string(utf8: $0) }
            json.key("receivedAt"); revisions.withBytes(row, 4) { json.timestamp(postgresText: $0) }
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
        var query = context.query
        let revision = query.int("revision", in: 1...Int(Int32.max))
        try query.finish()
        guard let payload = try JobStore(db: context.database)
            .payload(region: context.parameter("region"), jobId: context.parameter("jobId"), revision: revision) else {
            throw Problem.notFound("No such job or revision in this region.")
        }
        var response = Response(status: 200, body: payload.bytes)
        response.headers.add("content-type", "application/json")
        response.headers.add("repr-digest", "sha-256=:\(Base64.encode(payload.sha256)):")
        response.headers.add("etag", "\"\(Hex.encode(payload.sha256))\"")
        response.headers.add("x-job-revision", payload.revision)
        response.headers.add("cache-control", "no-cache")
        return response
    }
}
