import ControlPlaneCore
import Curl
import Foundation
import ServiceLog

/// Calls one region's registry: each request carries a freshly minted PREFLIGHT_JWT for
/// that region and nothing else of ours (no control or service token exists in this
/// process), requests are spaced to the region's rate, and every request has an absolute
/// deadline (the earlier of the request timeout and the region's sweep deadline) and a cap
/// on the answer's size: a registry that dribbles bytes or sends without end cannot hold a run.
final class RegistryClient {
    let region: String
    let baseURL: String
    let configuration: SyncConfiguration
    /// Seconds between request starts (0: unmetered).
    let interval: Double
    /// The region's sweep deadline (nil: only the request timeout bounds a call).
    let deadline: Date?
    /// The trace these calls belong to: the request that caused them, or this run's own.
    let traceId: String
    private var nextSlot = Date()

    init(region: String, baseURL: String, requestsPerSecond: Double, configuration: SyncConfiguration, deadline: Date? = nil,
         traceId: String? = nil) {
        self.region = region
        self.traceId = traceId ?? TraceContext.newTraceId()
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.configuration = configuration
        self.deadline = deadline
        interval = requestsPerSecond > 0 ? 1 / requestsPerSecond : 0
        // Metered from the first request on: n requests take at least n / rate seconds.
        nextSlot = Date().addingTimeInterval(interval)
    }

    enum Failure: Error, CustomStringConvertible {
        case transport(String)
        case status(Int, retryAfter: Double?)
        /// The region's sweep budget is spent: stop cleanly.
        case budgetSpent
        var description: String {
            switch self {
            case .transport(let what): "transport: \(what)"
            case .status(let code, _): "HTTP \(code)"
            case .budgetSpent: "the region's sweep budget is spent"
            }
        }
    }

    /// Seconds left before the region's deadline (infinite without one).
    var remainingSeconds: Double { deadline.map { $0.timeIntervalSinceNow } ?? .infinity }

    func send(method: String, path: String, query: [(String, String)] = [], body: [UInt8] = [], scope: String) throws -> HTTPTransfer.Result {
        let wait = nextSlot.timeIntervalSinceNow
        if wait > 0 {
            guard wait < remainingSeconds else { throw Failure.budgetSpent }
            Thread.sleep(forTimeInterval: wait)
        }
        nextSlot = max(nextSlot, Date()).addingTimeInterval(interval)
        let timeout = min(configuration.httpTimeoutSeconds, remainingSeconds)
        guard timeout > 0.05 else { throw Failure.budgetSpent }

        var components = URLComponents(string: baseURL + path)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        guard let url = components.url?.absoluteString else { throw Failure.transport("bad URL") }
        // The token never travels in clear: https, or a registry on this host (or the dev setting).
        guard RegionStore.transportAllowed(baseURL, allowHTTP: configuration.registryAllowHTTP) else {
            throw Failure.transport("refused: the registry URL is not https")
        }
        let token = try PreflightJWT.mint(key: try configuration.signer(), issuer: configuration.issuer, audience: region,
                                          subject: "controlplane-sync", scope: scope,
                                          lifetimeSeconds: configuration.tokenLifetimeSeconds)
        var headers = [("authorization", "Bearer \(token)"), ("accept", "application/json"), ("user-agent", "controlplane-sync/1"),
                       ("traceparent", TraceContext.traceparent(traceId: traceId))]
        if !body.isEmpty { headers.append(("content-type", "application/json")) }
        let result = HTTPTransfer.send(method: method, url: url, headers: headers, body: body, timeoutSeconds: timeout,
                                       maxResponseBytes: configuration.maxResponseBytes)
        if let error = result.error {
            if remainingSeconds <= 0.05 { throw Failure.budgetSpent }
            throw Failure.transport(error)
        }
        guard let status = result.status else { throw Failure.transport("no response") }
        guard (200..<300).contains(status) else {
            throw Failure.status(status, retryAfter: result.headers["retry-after"].flatMap(Self.retryAfterSeconds))
        }
        return result
    }

    /// `Retry-After` as delta-seconds or an HTTP date.
    static func retryAfterSeconds(_ value: String) -> Double? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
    }
}
