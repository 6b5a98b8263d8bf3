import FastCGI
import Postgres
import ServiceLog

/// One worker thread's responder: routes the request, turns every failure into a
/// problem response, and writes the access log line.
public final class ApplicationResponder: Responder {
    let application: Application
    public let database: PostgresConnection
    let tokenCache: ServiceTokenCache
    private let metrics: Metrics.Shard
    private var reportedReconnects = 0

    init(application: Application, database: PostgresConnection, tokenCache: ServiceTokenCache) {
        self.application = application
        self.database = database
        self.tokenCache = tokenCache
        self.metrics = application.metrics.makeShard()
    }

    public func respond(to request: Request) -> Response {
        var routeName = "-"
        var response: Response
        do {
            try Self.checkBody(request)
            switch application.router.match(method: request.method, path: request.path) {
            case .notFound:
                throw HTTPError.notFound("No route for this path.")
            case .methodNotAllowed(let allowed):
                throw HTTPError(405, slug: "method-not-allowed", detail: "Allowed: \(allowed.joined(separator: ", ")).",
                                headers: [("allow", allowed.joined(separator: ", "))])
            case .found(let route, let parameters):
                routeName = route.template
                let context = RequestContext(request: request, parameters: parameters, database: database,
                                             settings: application.settings, logger: application.logger,
                                             tokenCache: tokenCache, dictionary: application.dictionary,
                                             metrics: application.metrics)
                response = try route.handler(context)
            }
        } catch {
            response = problemResponse(for: error, request: request, route: routeName)
        }
        let elapsedSeconds = Double(MonotonicClock.nanoseconds() - request.receivedAt) / 1_000_000_000
        metrics.observe(method: request.method, route: routeName, status: response.status, seconds: elapsedSeconds)
        if database.reconnectCount != reportedReconnects {
            application.metrics.addReconnects(database.reconnectCount - reportedReconnects)
            reportedReconnects = database.reconnectCount
        }
        if application.settings.accessLog {
            let elapsed = elapsedSeconds * 1000
            application.logger.info("request", [
                "traceId": .string(request.traceId), "method": .string(request.method), "route": .string(routeName),
                "status": .int(response.status), "durationMs": .double((elapsed * 100).rounded() / 100),
            ])
        }
        return response
    }

    private static func checkBody(_ request: Request) throws {
        switch request.bodyProblem {
        case nil: return
        case .tooLarge(let limit):
            throw HTTPError(413, slug: "body-too-large", detail: "The body exceeds the limit of \(limit) bytes.")
        case .invalidLength:
            throw HTTPError.badRequest("CONTENT_LENGTH is not a number.", slug: "invalid-content-length")
        case .incomplete:
            throw HTTPError.badRequest("The body ended before CONTENT_LENGTH bytes arrived.", slug: "incomplete-body")
        }
    }

    private func problemResponse(for error: Error, request: Request, route: String) -> Response {
        let httpError: HTTPError
        switch error {
        case let e as HTTPError:
            httpError = e
        case let e as PostgresError:
            httpError = Self.httpError(for: e)
            let level: LogLevel = e.kind == .connectionUnavailable ? .warning : .error
            // `description` carries the SQLSTATE class only, never values.
            application.logger.log(level, "database error", ["traceId": .string(request.traceId),
                                                             "route": .string(route), "error": .string(e.description)])
        default:
            httpError = HTTPError(500, slug: "internal-error", detail: "The request failed inside the server; it has been logged.")
            application.logger.error("handler failed", ["traceId": .string(request.traceId), "route": .string(route),
                                                        "errorType": .string(String(describing: type(of: error)))])
        }
        return Problem.response(for: httpError, traceId: request.traceId)
    }

    static func httpError(for error: PostgresError) -> HTTPError {
        switch error.kind {
        case .connectionUnavailable:
            return .serviceUnavailable
        case .queryCanceled:
            return HTTPError(503, slug: "deadline-exceeded", detail: "The request took longer than its deadline.",
                             headers: [("retry-after", "1")])
        case .uniqueViolation, .exclusionViolation:
            return HTTPError(409, slug: "conflict", detail: "The resource already exists.")
        case .invalidTextRepresentation, .invalidDatetime, .numericOutOfRange, .stringTooLong, .dataException:
            // Only request values reach statements as parameters, so this is the client's input.
            return HTTPError(400, slug: "invalid-parameter", detail: "A parameter has a value the database cannot accept.")
        case .serializationFailure, .deadlockDetected, .lockNotAvailable:
            return HTTPError(503, slug: "contention", detail: "The database is busy with a conflicting change; retry.",
                             headers: [("retry-after", "1")])
        default:
            return HTTPError(500, slug: "internal-error", detail: "The request failed inside the server; it has been logged.")
        }
    }
}
