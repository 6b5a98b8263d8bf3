import FastCGI

/// An error that carries its HTTP status and becomes an RFC 9457 problem body.
/// `detail` is written for the client: it must never contain secrets or another
/// tenant's data.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    /// A short stable slug; the problem `type` is `urn:controlplane:problem:<slug>`.
    public var slug: String?
    public var title: String
    public var detail: String?
    public var headers: [(String, String)]
    /// Field-level complaints for validation failures.
    public var invalidParams: [InvalidParam]

    public struct InvalidParam: Sendable, Encodable, Equatable {
        public var name: String
        public var reason: String
        public init(name: String, reason: String) { self.name = name; self.reason = reason }
    }

    public init(_ status: Int, slug: String? = nil, title: String? = nil, detail: String? = nil,
                headers: [(String, String)] = [], invalidParams: [InvalidParam] = []) {
        self.status = status
        self.slug = slug
        self.title = title ?? HTTPStatus.reasonPhrase(status)
        self.detail = detail
        self.headers = headers
        self.invalidParams = invalidParams
    }

    public var description: String { "HTTP \(status) \(slug ?? title)" }

    public static func badRequest(_ detail: String, slug: String = "bad-request") -> HTTPError {
        HTTPError(400, slug: slug, detail: detail)
    }

    public static func notFound(_ detail: String = "No such resource.") -> HTTPError {
        HTTPError(404, slug: "not-found", detail: detail)
    }

    public static func validation(_ params: [InvalidParam]) -> HTTPError {
        HTTPError(422, slug: "validation-failed", title: "Request fields are invalid",
                  detail: "One or more fields are invalid; see invalidParams.", invalidParams: params)
    }

    public static func conflict(_ detail: String, slug: String = "conflict") -> HTTPError {
        HTTPError(409, slug: slug, detail: detail)
    }

    public static let serviceUnavailable = HTTPError(
        503, slug: "database-unavailable", title: "Service Unavailable",
        detail: "The database is not reachable; retry shortly.", headers: [("retry-after", "1")])
}
