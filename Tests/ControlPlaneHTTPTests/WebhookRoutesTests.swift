import ControlPlaneCore
@testable import ControlPlaneHTTP
import FastCGI
import Foundation
import XCTest

/// Webhook receivers that would reach inside the network are refused at registration.
final class WebhookRoutesTests: RouteTestCase {
    func register(_ url: String, with policy: WebhookDestinationPolicy) -> (status: Int, body: String) {
        let responder = app.responder { $0.webhookDestinations = policy }
        var headers = HTTPHeaders()
        headers.add("content-type", "application/json")
        headers.add("authorization", "Bearer \(app.serviceToken)")
        let body = try! JSONSerialization.data(withJSONObject: ["url": url, "events": ["*"]])
        let response = responder.respond(to: Request(method: "POST", path: "/internal/webhook-endpoints", headers: headers,
                                                     traceId: "t", body: Array(body)))
        return (response.status, String(decoding: response.body, as: UTF8.self))
    }

    func testInsideAddressesAreRefusedAndNothingIsStored() throws {
        let production = WebhookDestinationPolicy()
        let before = try app.counts()
        for url in ["http://169.254.169.254/latest/meta-data", "https://169.254.169.254/", "https://10.0.0.1/hook",
                    "https://192.168.1.10/hook", "https://172.20.0.5/hook", "https://100.64.1.1/hook", "https://0.0.0.0/hook",
                    "https://[::1]/hook", "https://[fe80::1]/hook", "https://[fd00::1]/hook", "https://[::ffff:10.0.0.1]/hook",
                    "https://[fd00:ec2::254]/hook", "http://localhost:9/hook", "https://127.0.0.1/hook",
                    "http://93.184.216.34/hook"] {
            let answer = register(url, with: production)
            XCTAssertEqual(answer.status, 422, "\(url): \(answer.body)")
            XCTAssertTrue(answer.body.contains(#""name":"url""#), url)
        }
        XCTAssertTrue(register("http://93.184.216.34/hook", with: production).body.contains("must use https"))
        XCTAssertTrue(register("http://169.254.169.254/", with: production).body.contains("link-local or metadata"))
        XCTAssertEqual(try app.counts(), before)
        XCTAssertEqual(register("https://93.184.216.34/hook", with: production).status, 201)  // a public address
    }

    func testAllowlistsOpenOnlyWhatTheyName() {
        let allowlisted = WebhookDestinationPolicy(allowedNetworks: [IPNetwork("10.0.0.0/8")!, IPNetwork("169.254.0.0/16")!])
        XCTAssertEqual(register("https://10.1.2.3/hook", with: allowlisted).status, 201)
        XCTAssertEqual(register("https://192.168.1.10/hook", with: allowlisted).status, 422)
        XCTAssertEqual(register("https://169.254.169.254/", with: allowlisted).status, 422)  // never, even listed
        XCTAssertEqual(register("http://10.1.2.3/hook", with: allowlisted).status, 422)      // https still
        let development = WebhookDestinationPolicy(allowLoopback: true)
        XCTAssertEqual(register("http://127.0.0.1:9/hook", with: development).status, 201)
        XCTAssertEqual(register("http://localhost:9/hook", with: development).status, 201)
        XCTAssertEqual(register("https://10.1.2.3/hook", with: development).status, 422)
    }
}
