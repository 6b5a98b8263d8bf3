import ControlPlaneCore
import FastCGI
import Postgres

/// `GET /internal/health`: 200 when this worker can reach the database, else 503.
enum HealthHandlers {
    static let healthyBody = Array(#"{"status":"ok","database":"ok"}"#.utf8)

    static let liveBody = Array(#"{"status":"ok"}"#.utf8)

    /// `GET /internal/live`: the process answers (no database): liveness, and the trivial
    /// route the benchmarks measure the FastCGI path with.
    @Sendable static func live(_ context: RequestContext) throws -> Response {
        var response = Response.jsonBytes(liveBody)
        response.headers.add("cache-control", "no-store")
        return response
    }

    @Sendable static func health(_ context: RequestContext) throws -> Response {
        try context.database.ping()
        var response = Response.jsonBytes(healthyBody)
        response.headers.add("cache-control", "no-store")
        return response
    }
}
