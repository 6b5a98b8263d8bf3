import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A blocking HTTP client for one-shot runs (URLSession over libcurl): no cookies, no
/// cache, no redirects followed (a 3xx is the receiver's answer, not a detour).
final class HTTPClient: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    struct Result {
        var status: Int?
        var headers: [String: String] = [:]
        var body = Data()
        var error: String?
        var durationMs = 0
    }

    private lazy var session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.httpShouldSetCookies = false
        return URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
    }()

    func send(method: String, url: URL, headers: [(String, String)], body: Data?, timeoutSeconds: Double) -> Result {
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let started = Date()
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let task = session.dataTask(with: request) { data, response, error in
            var result = Result()
            if let http = response as? HTTPURLResponse {
                result.status = http.statusCode
                for (key, value) in http.allHeaderFields {
                    if let k = key as? String, let v = value as? String { result.headers[k.lowercased()] = v }
                }
            }
            result.body = data ?? Data()
            if let error { result.error = (error as NSError).localizedDescription }
            box.value = result
            done.signal()
        }
        task.resume()
        done.wait()
        var result = box.value ?? Result(error: "no response")
        result.durationMs = Int(Date().timeIntervalSince(started) * 1000)
        return result
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    private final class ResultBox: @unchecked Sendable { var value: Result? }
}
