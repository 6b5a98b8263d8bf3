import Postgres

/// Every problem type the backend answers with: `urn:controlplane:problem:<rawValue>`.
/// openapi/controlplane.yaml lists the same values (a test compares them), plus the few
/// that only nginx writes (`ProblemType.answeredByNginx`).
public enum ProblemType: String, CaseIterable, Sendable {
    // Request shape
    case badRequest = "bad-request"
    case invalidParameter = "invalid-parameter"
    case malformedJSON = "malformed-json"
    case unsupportedMediaType = "unsupported-media-type"
    case validationFailed = "validation-failed"
    case invalidContentLength = "invalid-content-length"
    case incompleteBody = "incomplete-body"
    case bodyTooLarge = "body-too-large"
    case notFound = "not-found"
    case methodNotAllowed = "method-not-allowed"
    // Who may call
    case unauthenticated
    case insufficientScope = "insufficient-scope"
    case tokenExpired = "token-expired"
    case tokenRateLimited = "token-rate-limited"
    case tokenQuotaExceeded = "token-quota-exceeded"
    case badSignature = "bad-signature"
    case draftSecretRequired = "draft-secret-required"
    case botCheckFailed = "bot-check-failed"
    // State
    case conflict
    case illegalTransition = "illegal-transition"
    case slugTaken = "slug-taken"
    case hostnameTaken = "hostname-taken"
    case regionExists = "region-exists"
    case regionHasJobs = "region-has-jobs"
    case idempotencyKeyReused = "idempotency-key-reused"
    case draftClosed = "draft-closed"
    case draftNotReady = "draft-not-ready"
    case draftNotSubmitted = "draft-not-submitted"
    // One-time codes and limits
    case noActiveCode = "no-active-code"
    case codeExpired = "code-expired"
    case tooManyAttempts = "too-many-attempts"
    case wrongCode = "wrong-code"
    case resendCooldown = "resend-cooldown"
    case sendLimit = "send-limit"
    case draftLimit = "draft-limit"
    case smsRemoved = "sms-removed"
    // Server side
    case trialNotConfigured = "trial-not-configured"
    case botCheckUnavailable = "bot-check-unavailable"
    case callbacksNotConfigured = "callbacks-not-configured"
    case webhooksNotConfigured = "webhooks-not-configured"
    case controlNotConfigured = "control-not-configured"
    case databaseUnavailable = "database-unavailable"
    case deadlineExceeded = "deadline-exceeded"
    case contention
    case internalError = "internal-error"

    /// Types nginx writes itself (nginx/snippets/controlplane-problems.conf); its plain
    /// HTTP errors say `about:blank`.
    public static let answeredByNginx = ["urn:controlplane:problem:rate-limited", "urn:controlplane:problem:backend-unavailable",
                                         "urn:controlplane:problem:backend-timeout", "about:blank"]

    public var uri: String { "urn:controlplane:problem:" + rawValue }
}

/// An RFC 9457 problem: the status, the type and a detail written for the client (never a
/// secret or another tenant's data). Handlers throw it; domain errors turn into one through
/// `ProblemConvertible`; the responder writes it.
public struct Problem: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var type: ProblemType
    /// nil: the status's reason phrase.
    public var title: String?
    public var detail: String?
    public var headers: [(String, String)]
    /// Field-level complaints (a body's fields, or query parameters).
    public var invalidParams: [InvalidParam]

    public struct InvalidParam: Sendable, Equatable {
        public var name: String
        public var reason: String
        public init(name: String, reason: String) {
            // Names may come from the client: bounded, never echoed at length.
            self.name = String(name.prefix(64))
            self.reason = reason
        }
    }

    public init(_ status: Int, type: ProblemType, title: String? = nil, detail: String? = nil,
                headers: [(String, String)] = [], invalidParams: [InvalidParam] = []) {
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.headers = headers
        self.invalidParams = invalidParams
    }

    public var description: String { "HTTP \(status) \(type.rawValue)" }

    public static func badRequest(_ detail: String, type: ProblemType = .badRequest) -> Problem {
        Problem(400, type: type, detail: detail)
    }

    public static func notFound(_ detail: String = "No such resource.") -> Problem {
        Problem(404, type: .notFound, detail: detail)
    }

    /// 422: body fields that are invalid.
    public static func validation(_ params: [InvalidParam]) -> Problem {
        Problem(422, type: .validationFailed, title: "Request fields are invalid",
                detail: "One or more fields are invalid; see invalidParams.", invalidParams: params)
    }

    public static func validation(_ name: String, _ reason: String) -> Problem {
        validation([InvalidParam(name: name, reason: reason)])
    }

    /// 400: query parameters that are unknown or invalid, all of them at once.
    public static func invalidQuery(_ params: [InvalidParam]) -> Problem {
        Problem(400, type: .invalidParameter, title: "Query parameters are invalid",
                detail: "One or more query parameters are invalid; see invalidParams.", invalidParams: params)
    }

    public static func conflict(_ detail: String, type: ProblemType = .conflict) -> Problem {
        Problem(409, type: type, detail: detail)
    }

    public static let serviceUnavailable = Problem(
        503, type: .databaseUnavailable, title: "Service Unavailable",
        detail: "The database is not reachable; retry shortly.", headers: [("retry-after", "1")])

    public static let internalError = Problem(500, type: .internalError,
                                              detail: "The request failed inside the server; it has been logged.")
}

/// An error that knows the problem it is for the client. The responder checks this once;
/// handlers let domain failures travel up unchanged.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

extension Problem: ProblemConvertible {
    public var problem: Problem { self }
}

extension PostgresError: ProblemConvertible {
    public var problem: Problem {
        switch kind {
        case .connectionUnavailable:
            return .serviceUnavailable
        case .queryCanceled:
            return Problem(503, type: .deadlineExceeded, detail: "The request took longer than its deadline.",
                           headers: [("retry-after", "1")])
        case .uniqueViolation, .exclusionViolation:
            return Problem(409, type: .conflict, detail: "The resource already exists.")
        case .invalidTextRepresentation, .invalidDatetime, .numericOutOfRange, .stringTooLong, .dataException:
            // Only request values reach statements as parameters, so this is the client's input.
            return Problem(400, type: .invalidParameter, detail: "A parameter has a value the database cannot accept.")
        case .serializationFailure, .deadlockDetected, .lockNotAvailable:
            return Problem(503, type: .contention, detail: "The database is busy with a conflicting change; retry.",
                           headers: [("retry-after", "1")])
        default:
            return .internalError
        }
    }
}
