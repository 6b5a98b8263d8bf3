import ControlPlaneCore
import Foundation
import ServiceLog

/// Calls one region's registry: each request carries a freshly minted PREFLIGHT_JWT for
/// that region and nothing else of ours (no control or service token exists in this
/// process), and requests are spaced to the region's rate.
final class RegistryClient {
    let region: String
    let baseURL: String
    let configuration: SyncConfiguration
    let http: HTTPClient
    /// Seconds between request starts (0: unmetered).
    let interval: Double
    private var nextSlot = Date()

    init(region: String, baseURL: String, requestsPerSecond: Double, configuration: SyncConfiguration, http: HTTPClient) {
        self.region = region
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.configuration = configuration
        self.http = http
        interval = requestsPerSecond > 0 ? 1 / requestsPerSecond : 0
        // Metered from the first request on: n requests take at least n / rate seconds.
        nextSlot = Date().addingTimeInterval(interval)
    }

    enum Failure: Error, CustomStringConvertible {
        case transport(String)
        case status(Int, retryAfter: Double?)
        var description: String {
            switch self {
            case .transport(let what): "transport: \(what)"
            case .status(let code, _): "HTTP \(code)"
            }
        }
    }

    func send(method: String, path: String, query: [(String, String)] = [], body: Data? = nil, scope: String) throws -> HTTPClient.Result {
        let wait = nextSlot.timeIntervalSinceNow
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        nextSlot = max(nextSlot, Date()).addingTimeInterval(interval)

        var components = URLComponents(string: baseURL + path)!
        if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        guard let url = components.url else { throw Failure.transport("bad URL") }
        // The token never travels in clear: https, or a registry on this host (or the dev setting).
        guard RegionStore.transportAllowed(baseURL, allowHTTP: configuration.registryAllowHTTP) else {
            throw Failure.transport("refused: the registry URL is not https")
        }
        let token = try PreflightJWT.mint(key: try configuration.signer(), issuer: configuration.issuer, audience: region,
                                          subject: "controlplane-sync", scope: scope,
                                          lifetimeSeconds: configuration.tokenLifetimeSeconds)
        var headers = [("authorization", "Bearer \(token)"), ("accept", "application/json"), ("user-agent", "controlplane-sync/1")]
        if body != nil { headers.append(("content-type", "application/json")) }
        let result = http.send(method: method, url: url, headers: headers, body: body, timeoutSeconds: configuration.httpTimeoutSeconds)
        if let error = result.error { throw Failure.transport(error) }
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
