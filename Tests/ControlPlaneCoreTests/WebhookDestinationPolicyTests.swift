@testable import ControlPlaneCore
import XCTest

final class WebhookDestinationPolicyTests: XCTestCase {
    func testAddressKinds() {
        let cases: [(String, IPAddress.Kind)] = [
            ("8.8.8.8", .publicAddress), ("93.184.216.34", .publicAddress), ("2606:4700::1111", .publicAddress),
            ("127.0.0.1", .loopback), ("127.255.0.9", .loopback), ("::1", .loopback), ("::ffff:127.0.0.1", .loopback),
            ("169.254.169.254", .metadata), ("fd00:ec2::254", .metadata), ("169.254.1.1", .linkLocal), ("fe80::1", .linkLocal),
            ("febf::1", .linkLocal), ("10.0.0.1", .internal), ("172.16.0.1", .internal), ("172.31.255.255", .internal),
            ("192.168.0.1", .internal), ("100.64.0.1", .internal), ("0.0.0.0", .internal), ("224.0.0.1", .internal),
            ("255.255.255.255", .internal), ("fd12:3456::1", .internal), ("fc00::1", .internal), ("::", .internal),
            ("ff02::1", .internal), ("::ffff:10.1.1.1", .internal), ("172.32.0.1", .publicAddress), ("100.128.0.1", .publicAddress),
        ]
        for (text, kind) in cases { XCTAssertEqual(IPAddress(text)?.kind, kind, text) }
        XCTAssertNil(IPAddress("not-an-ip"))
    }

    func testNetworks() {
        XCTAssertTrue(IPNetwork("10.20.0.0/16")!.contains(IPAddress("10.20.30.40")!))
        XCTAssertFalse(IPNetwork("10.20.0.0/16")!.contains(IPAddress("10.21.0.1")!))
        XCTAssertTrue(IPNetwork("10.20.0.0/12")!.contains(IPAddress("10.31.0.1")!))
        XCTAssertTrue(IPNetwork("fd12:3456::/32")!.contains(IPAddress("fd12:3456:9::1")!))
        XCTAssertFalse(IPNetwork("fd12:3456::/32")!.contains(IPAddress("10.0.0.1")!))
        XCTAssertNil(IPNetwork("10.0.0.0/33"))
        XCTAssertNil(IPNetwork("nonsense/8"))
    }

    func testEveryResolvedAddressMustPass() {
        let policy = WebhookDestinationPolicy()
        // A name whose answers mix a public and a private address is refused.
        XCTAssertEqual(policy.check("https://mixed.example/h", resolve: { _ in ["93.184.216.34", "10.0.0.1"] }).isFailure, true)
        XCTAssertEqual(try policy.check("https://ok.example/h", resolve: { _ in ["93.184.216.34"] }).get(),
                       .init(host: "ok.example", port: 443, addresses: ["93.184.216.34"]))
        XCTAssertEqual(policy.check("https://nowhere.example/h", resolve: { _ in [] }).isFailure, true)
        XCTAssertEqual(policy.check("ftp://x.example/h", resolve: { _ in ["93.184.216.34"] }).isFailure, true)
        XCTAssertEqual(policy.check("https://u:p@x.example/h", resolve: { _ in ["93.184.216.34"] }).isFailure, true)
    }
}

private extension Result {
    var isFailure: Bool { if case .failure = self { return true } else { return false } }
}
