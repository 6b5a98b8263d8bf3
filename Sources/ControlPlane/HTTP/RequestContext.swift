import FastCGI
import Postgres
import ServiceLog

/// What a handler gets: the request, its path parameters, this thread's database
/// connection and caches, the shared settings and a logger.
public struct RequestContext {
    public let request: Request
    public let parameters: [String: String]
    public let database: PostgresConnection
    public let settings: ApplicationSettings
    public let logger: Logger
    let tokenCache: ServiceTokenCache
    public let dictionary: DomainDictionary
    public let metrics: Metrics

    public var traceId: String { request.traceId }

    public func parameter(_ name: String) -> String {
        parameters[name] ?? ""
    }
}
