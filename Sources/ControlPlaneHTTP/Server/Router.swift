import ControlPlaneCore
import FastCGI

/// Method + path template (`/internal/tenants/{id}`) → handler. Each route has an
/// operation id, the same as in openapi/controlplane.yaml.
public struct Router: Sendable {
    public typealias Handler = @Sendable (RequestContext) throws -> Response

    public struct Route: Sendable {
        public let method: String
        public let template: String
        public let operationId: String
        let segments: [Segment]
        let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public enum Match {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public private(set) var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ template: String, operationId: String, _ handler: @escaping Handler) {
        let segments = Self.split(template).map { part -> Segment in
            if part.hasPrefix("{") && part.hasSuffix("}") { return .parameter(String(part.dropFirst().dropLast())) }
            return .literal(String(part))
        }
        precondition(!routes.contains { $0.method == method && $0.segments == segments }, "duplicate route \(method) \(template)")
        routes.append(Route(method: method, template: template, operationId: operationId, segments: segments, handler: handler))
    }

    public func match(method: String, path: String) -> Match {
        let parts = Self.split(path)
        var allowed: [String] = []
        let lookupMethod = method == "HEAD" ? "GET" : method
        for route in routes {
            guard let parameters = Self.bind(route.segments, to: parts) else { continue }
            if route.method == lookupMethod { return .found(route, parameters: parameters) }
            allowed.append(route.method)
        }
        if allowed.isEmpty { return .notFound }
        if allowed.contains("GET") { allowed.append("HEAD") }
        return .methodNotAllowed(allowed: Array(Set(allowed)).sorted())
    }

    /// Splits on the byte `/`, not on Characters: a combining mark after a slash would
    /// otherwise fuse with it into one Character and hide the separator.
    private static func split(_ path: String) -> [Substring] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { Substring($0) }
    }

    private static func bind(_ segments: [Segment], to parts: [Substring]) -> [String: String]? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let text): if !text.utf8.elementsEqual(part.utf8) { return nil }  // bytes, not canonical equivalence
            case .parameter(let name): parameters[name] = String(part)
            }
        }
        return parameters
    }
}
