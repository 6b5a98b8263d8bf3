import ControlPlaneCore
import FastCGI
import Postgres
import ServiceLog

/// One worker thread's responder: routes the request, turns every failure into a
/// problem response, and writes the access log line.
public final class ApplicationResponder: Responder {
    let application: Application
    public let database: PostgresConnection
    let tokenCache: ServiceTokenCache
    /// This worker's references to the shared in-memory tables (read without a lock).
    let dictionaryReader = DomainDictionary.Reader()
    let directoryReader = TenantDirectory.Reader()
    private let metrics: Metrics.Shard
    private var reportedReconnects = 0
    private let responseHeaders = ResponseHeaderList()
    private let requestLog = RequestLog()

    init(application: Application, database: PostgresConnection, tokenCache: ServiceTokenCache) {
        self.application = application
        self.database = database
        self.tokenCache = tokenCache
        self.metrics = application.metrics.makeShard()
    }

    public func respond(to request: Request) -> Response {
        var routeName = "-"
        var response: Response
        responseHeaders.fields.removeAll(keepingCapacity: true)
        requestLog.begin(base: application.logger, traceId: request.traceId)
        let roundTripsBefore = database.roundTripCount
        do {
            try Self.checkBody(request)
            switch application.router.match(method: request.method, path: request.path) {
            case .notFound:
                throw Problem.notFound("No route for this path.")
            case .methodNotAllowed(let allowed):
                throw Problem(405, type: .methodNotAllowed, detail: "Allowed: \(allowed.joined(separator: ", ")).",
                                headers: [("allow", allowed.joined(separator: ", "))])
            case .found(let route, let parameters):
                routeName = route.template
                requestLog.route = route.template
                let context = RequestContext(request: request, parameters: parameters, database: database,
                                             settings: application.settings, requestLog: requestLog,
                                             tokenCache: tokenCache, tokenLimiter: application.tokenLimiter,
                                             responseHeaders: responseHeaders, dictionary: application.dictionary,
                                             tenantDirectory: application.tenantDirectory, attemptLog: application.attemptLog,
                                             dictionaryReader: dictionaryReader, directoryReader: directoryReader,
                                             metrics: application.metrics)
                response = try route.handler(context)
            }
        } catch {
            response = problemResponse(for: error, request: request, route: routeName)
        }
        if database.reconnectCount != reportedReconnects {
            application.metrics.addReconnects(database.reconnectCount - reportedReconnects)
            reportedReconnects = database.reconnectCount
        }
        // What the access log and metrics need, copied: a deferred response finishes on another
        // thread while this worker's state serves the next request.
        let finish = Finish(headers: responseHeaders.fields, metrics: metrics, method: request.method, route: routeName,
                            receivedAt: request.receivedAt, dbRoundTrips: database.roundTripCount - roundTripsBefore,
                            logger: application.settings.accessLog ? requestLog.logger : nil)
        guard let later = response.deferred else { return finish(response) }
        return Response.later { serverFinish in later.start { response in serverFinish(finish(response)) } }
    }

    /// The last touches every response gets: the fields the request earned (RateLimit), its
    /// metrics, its access log line.
    private struct Finish: Sendable {
        let headers: [(String, String)], metrics: Metrics.Shard, method: String, route: String
        let receivedAt: UInt64, dbRoundTrips: Int, logger: Logger?

        func callAsFunction(_ response: Response) -> Response {
            var response = response
            for (name, value) in headers { response.headers.add(name, value) }
            let elapsedSeconds = Double(MonotonicClock.nanoseconds() - receivedAt) / 1_000_000_000
            metrics.observe(method: method, route: route, status: response.status, seconds: elapsedSeconds)
            if let logger {
                let elapsed = elapsedSeconds * 1000
                logger.info("request", [
                    "method": .string(method), "status": .int(response.status), "durationMs": .double((elapsed * 100).rounded() / 100),
                    "dbRoundTrips": .int(dbRoundTrips),
                ])
            }
            return response
        }
    }

    private static func checkBody(_ request: Request) throws {
        switch request.bodyProblem {
        case nil: return
        case .tooLarge(let limit):
            throw Problem(413, type: .bodyTooLarge, detail: "The body exceeds the limit of \(limit) bytes.")
        case .invalidLength:
            throw Problem.badRequest("CONTENT_LENGTH is not a number.", type: .invalidContentLength)
        case .incomplete:
            throw Problem.badRequest("The body ended before CONTENT_LENGTH bytes arrived.", type: .incompleteBody)
        }
    }

    /// The one place errors become responses: a `ProblemConvertible` error (a thrown
    /// `Problem`, a store's refusal, a database error) is its problem; anything else is a 500
    /// whose type, never its text, is logged.
    private func problemResponse(for error: Error, request: Request, route: String) -> Response {
        let problem: Problem
        switch error {
        case let e as PostgresError:
            problem = e.problem
            let level: LogLevel = e.kind == .connectionUnavailable ? .warning : .error
            // `description` carries the SQLSTATE class only, never values.
            requestLog.logger.log(level, "database error", ["error": .string(e.description)])
        case let e as ProblemConvertible:
            problem = e.problem
        default:
            problem = .internalError
            requestLog.logger.error("handler failed", ["errorType": .string(String(describing: type(of: error)))])
        }
        return ProblemResponse.response(for: problem, traceId: request.traceId)
    }
}

/// One worker's list of fields added to whatever response the request gets (reused, not
/// reallocated, request after request).
final class ResponseHeaderList {
    var fields: [(String, String)] = []
}

/// One worker's logger for the request it answers: the application's, with the request's trace
/// id, route and actor as metadata. They are noted as they become known and put on a logger only
/// when a line is written, so a request that logs nothing (access log off) allocates nothing here.
final class RequestLog {
    private var base = Logger(component: "controlplaned")
    private var traceId = ""
    var route = "-"
    var actor: String?

    func begin(base: Logger, traceId: String) {
        self.base = base
        self.traceId = traceId
        route = "-"
        actor = nil
    }

    var logger: Logger {
        var logger = base
        logger[metadataKey: "traceId"] = .string(traceId)
        logger[metadataKey: "route"] = .string(route)
        if let actor { logger[metadataKey: "actor"] = .string(actor) }
        return logger
    }
}
