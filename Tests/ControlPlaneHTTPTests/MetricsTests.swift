@testable import ControlPlaneHTTP
import ControlPlaneCore
import XCTest

/// Worker shards add up to one exposition: counts, cumulative buckets, sums.
final class MetricsTests: XCTestCase {
    func testShardsAreSummedIntoOneExposition() {
        let metrics = Metrics()
        let first = metrics.makeShard(), second = metrics.makeShard()
        first.observe(method: "GET", route: "/internal/live", status: 200, seconds: 0.0005)
        second.observe(method: "GET", route: "/internal/live", status: 200, seconds: 0.02)
        second.observe(method: "BREW", route: "-", status: 404, seconds: 20)
        var text = ""
        metrics.render(into: &text)
        XCTAssertTrue(text.contains(#"controlplane_http_requests_total{method="GET",route="/internal/live",status="200"} 2"#))
        XCTAssertTrue(text.contains(#"controlplane_http_requests_total{method="OTHER",route="-",status="404"} 1"#))
        XCTAssertTrue(text.contains(#"controlplane_http_request_duration_seconds_bucket{method="GET",route="/internal/live",le="0.001"} 1"#))
        XCTAssertTrue(text.contains(#"controlplane_http_request_duration_seconds_bucket{method="GET",route="/internal/live",le="0.025"} 2"#))
        XCTAssertTrue(text.contains(#"controlplane_http_request_duration_seconds_bucket{method="OTHER",route="-",le="10.0"} 0"#))
        XCTAssertTrue(text.contains(#"controlplane_http_request_duration_seconds_bucket{method="OTHER",route="-",le="+Inf"} 1"#))
        XCTAssertTrue(text.contains(#"controlplane_http_request_duration_seconds_count{method="GET",route="/internal/live"} 2"#))
        XCTAssertTrue(text.contains(#"controlplane_http_request_duration_seconds_sum{method="GET",route="/internal/live"} 0.0205"#))
    }
}
