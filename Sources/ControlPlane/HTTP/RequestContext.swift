import FastCGI
import Postgres
import ServiceLog

/// What a handler gets: the request, its path parameters, this thread's database
/// connection and a logger.
public struct RequestContext {
    public let request: Request
    public let parameters: [String: String]
    public let database: PostgresConnection
    public let logger: Logger

    public var traceId: String { request.traceId }

    public func parameter(_ name: String) -> String {
        parameters[name] ?? ""
    }
}
