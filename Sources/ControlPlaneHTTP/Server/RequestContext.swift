import ControlPlaneCore
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
    let requestLog: RequestLog
    /// This request's logger: its lines carry the trace id, the route and the actor.
    public var logger: Logger { requestLog.logger }

    /// Names who is calling in every later log line of this request.
    func noteActor(_ actor: String) { requestLog.actor = actor }
    let tokenCache: ServiceTokenCache
    let tokenLimiter: TokenLimiter
    /// Fields the response gets whatever it is (a token's RateLimit fields).
    let responseHeaders: ResponseHeaderList
    public let dictionary: DomainDictionary
    public let tenantDirectory: TenantDirectory
    public let attemptLog: AttemptLogWriter
    let dictionaryReader: DomainDictionary.Reader
    let directoryReader: TenantDirectory.Reader
    public let metrics: Metrics

    public var traceId: String { request.traceId }

    /// A response given later from another thread (the worker takes the next request
    /// meanwhile): `start` gets a callback to call once with the response or the error, which
    /// becomes its problem response as any handler's error does.
    public func answerLater(_ start: @escaping @Sendable (_ done: @escaping @Sendable (Result<Response, Error>) -> Void) -> Void) -> Response {
        let traceId = self.traceId
        return Response.later { finish in
            start { result in
                switch result {
                case .success(let response): finish(response)
                case .failure(let error):
                    finish(ProblemResponse.response(for: (error as? ProblemConvertible)?.problem ?? .internalError, traceId: traceId))
                }
            }
        }
    }

    /// The runtime domain dictionary, as this worker last saw it replaced.
    public var domainTable: DomainTable { dictionary.table(dictionaryReader) }

    /// The in-memory tenant directory, holding every write this process acknowledged.
    public func tenantSnapshot() throws -> TenantDirectory.Snapshot {
        try tenantDirectory.snapshot(database, reader: directoryReader)
    }

    public func parameter(_ name: String) -> String {
        parameters[name] ?? ""
    }

    /// The list route's query parameters (finish them with `finish()`).
    public var query: QueryParameters { QueryParameters(request) }

    /// The hash key, or 503: the trial funnel cannot log or issue codes without it.
    func requireHashKey() throws -> [UInt8] {
        guard let key = settings.hashKey else {
            throw Problem(503, type: .trialNotConfigured, detail: "The trial funnel is not configured on this server.")
        }
        return key
    }

    /// Who is behind this trial request, as the attempt log keeps it.
    func signupRequester() throws -> SignupRequester {
        SignupRequester(traceId: traceId, remoteAddress: request.remoteAddress, hashKey: try requireHashKey())
    }

    /// Runs a change and records its audit row in the same transaction (with this request's
    /// trace id); `target` may depend on what the change made.
    public func audited<T>(actor: String, action: String, reason: String? = nil,
                           _ change: (PostgresConnection) throws -> (T, target: String, summary: String?)) throws -> T {
        try AuditLogStore.audited(database, actor: actor, traceId: traceId, action: action, reason: reason, change)
    }
}
