import Foundation
import FastCGI
import Synchronization

/// Process-wide request metrics for `/internal/metrics` (Prometheus text format): requests
/// by route and status, a latency histogram per route, database reconnects. Routes are
/// templates (`/internal/tenants/{id}`), so the label set is bounded; unknown paths count
/// as route "-".
public final class Metrics: Sendable {
    public static let bucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct RouteSeries {
        var buckets = [Int](repeating: 0, count: Metrics.bucketBounds.count)
        var count = 0
        var sum = 0.0
    }

    struct State {
        var requests: [String: Int] = [:]        // "method route status" → count
        var latency: [String: RouteSeries] = [:] // "method route" → histogram
    }

    private let state = Mutex(State())
    let databaseReconnects = Atomic<Int>(0)
    private let server = Mutex<ServerStats?>(nil)

    public init() {}

    public func attach(_ stats: ServerStats) { server.withLock { $0 = stats } }
    public var serverStats: ServerStats? { server.withLock { $0 } }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    public func observe(method: String, route: String, status: Int, seconds: Double) {
        // Clients choose methods: anything unusual counts as OTHER, so labels stay bounded.
        let series = (Self.knownMethods.contains(method) ? method : "OTHER") + " " + route
        state.withLock { state in
            state.requests[series + " " + String(status), default: 0] += 1
            var histogram = state.latency[series] ?? RouteSeries()
            for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound { histogram.buckets[index] += 1 }
            histogram.count += 1
            histogram.sum += seconds
            state.latency[series] = histogram
        }
    }

    public func addReconnects(_ count: Int) { if count > 0 { databaseReconnects.add(count, ordering: .relaxed) } }

    /// The request families, in the text exposition format.
    func render(into out: inout String) {
        let snapshot = state.withLock { $0 }
        out += "# HELP controlplane_http_requests_total Requests answered, by route template and status.\n"
        out += "# TYPE controlplane_http_requests_total counter\n"
        for (key, count) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ", maxSplits: 2).map(String.init)
            out += "controlplane_http_requests_total{method=\"\(parts[0])\",route=\"\(Self.escape(parts[1]))\",status=\"\(parts[2])\"} \(count)\n"
        }
        out += "# HELP controlplane_http_request_duration_seconds Time from accept to response, by route template.\n"
        out += "# TYPE controlplane_http_request_duration_seconds histogram\n"
        for (key, series) in snapshot.latency.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            let labels = "method=\"\(parts[0])\",route=\"\(Self.escape(parts[1]))\""
            for (index, bound) in Self.bucketBounds.enumerated() {
                out += "controlplane_http_request_duration_seconds_bucket{\(labels),le=\"\(bound)\"} \(series.buckets[index])\n"
            }
            out += "controlplane_http_request_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(series.count)\n"
            out += "controlplane_http_request_duration_seconds_sum{\(labels)} \(series.sum)\n"
            out += "controlplane_http_request_duration_seconds_count{\(labels)} \(series.count)\n"
        }
        out += "# HELP controlplane_database_reconnects_total Database connections re-established after a loss.\n"
        out += "# TYPE controlplane_database_reconnects_total counter\n"
        out += "controlplane_database_reconnects_total \(databaseReconnects.load(ordering: .relaxed))\n"
        if let stats = serverStats {
            let busy = stats.inFlightCount
            out += "# HELP controlplane_workers Worker threads by state.\n# TYPE controlplane_workers gauge\n"
            out += "controlplane_workers{state=\"busy\"} \(busy)\ncontrolplane_workers{state=\"idle\"} \(max(0, stats.threadCount - busy))\n"
            out += "# HELP controlplane_accepted_requests_total Requests accepted since start.\n# TYPE controlplane_accepted_requests_total counter\n"
            out += "controlplane_accepted_requests_total \(stats.acceptedCount)\n"
            out += "# HELP controlplane_slow_requests_total Requests slower than CONTROLPLANE_SLOW_REQUEST_MS.\n# TYPE controlplane_slow_requests_total counter\n"
            out += "controlplane_slow_requests_total \(stats.slowRequestCount)\n"
        }
    }

    static func escape(_ label: String) -> String {
        label.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
