import ControlPlaneCore
import Foundation
import FastCGI
import Synchronization

/// Process-wide request metrics for `/internal/metrics` (Prometheus text format): requests
/// by route and status, a latency histogram per route, database reconnects. Routes are
/// templates (`/internal/tenants/{id}`), so the label set is bounded; unknown paths count
/// as route "-". Each worker thread records into its own shard (one lock nobody else takes
/// except a scrape), because a single shared lock was the hottest spot of the email check.
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

        mutating func merge(_ other: State) {
            requests.merge(other.requests, uniquingKeysWith: +)
            for (key, series) in other.latency {
                latency[key, default: RouteSeries()].count += series.count
                latency[key, default: RouteSeries()].sum += series.sum
                for index in series.buckets.indices { latency[key, default: RouteSeries()].buckets[index] += series.buckets[index] }
            }
        }
    }

    /// One worker's counters.
    public final class Shard: Sendable {
        fileprivate let state = Mutex(State())

        public func observe(method: String, route: String, status: Int, seconds: Double) {
            // Clients choose methods: anything unusual counts as OTHER, so labels stay bounded.
            let series = (Metrics.knownMethods.contains(method) ? method : "OTHER") + " " + route
            let requestKey = series + " " + String(status)
            let firstBucket = Metrics.bucketBounds.firstIndex { seconds <= $0 } ?? Metrics.bucketBounds.count
            state.withLock { state in
                state.requests[requestKey, default: 0] += 1
                // Mutated in place through the default subscript: no copy of the bucket array.
                state.latency[series, default: RouteSeries()].count += 1
                state.latency[series, default: RouteSeries()].sum += seconds
                for index in firstBucket..<Metrics.bucketBounds.count { state.latency[series, default: RouteSeries()].buckets[index] += 1 }
            }
        }
    }

    private let shards = Mutex<[Shard]>([])
    let databaseReconnects = Atomic<Int>(0)
    private let server = Mutex<ServerStats?>(nil)

    public init() {}

    public func attach(_ stats: ServerStats) { server.withLock { $0 = stats } }
    public var serverStats: ServerStats? { server.withLock { $0 } }

    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// A shard for one worker thread; it counts in every later render.
    public func makeShard() -> Shard {
        let shard = Shard()
        shards.withLock { $0.append(shard) }
        return shard
    }

    public func addReconnects(_ count: Int) { if count > 0 { databaseReconnects.add(count, ordering: .relaxed) } }

    /// The request families, in the text exposition format.
    func render(into out: inout String) {
        var snapshot = State()
        for shard in shards.withLock({ $0 }) { snapshot.merge(shard.state.withLock { $0 }) }
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
        Self.sample("controlplane_database_reconnects_total", .counter, "Database connections re-established after a loss.",
                    databaseReconnects.load(ordering: .relaxed), into: &out)
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

    enum Kind: String { case counter, gauge }

    /// One sample without labels, with its HELP and TYPE lines.
    static func sample(_ name: StaticString, _ kind: Kind, _ help: StaticString, _ value: some BinaryInteger, into out: inout String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n\(name) \(value)\n"
    }
}
