@testable import ControlPlaneCore
import XCTest

/// What abuse limits count as one client: an IPv4 address, an IPv6 /64; and one mailbox.
final class ClientNetworkTests: XCTestCase {
    func testIPv6AddressesCountByTheirSlash64() {
        XCTAssertEqual(ClientNetwork.of("2001:db8:1:2::10"), "2001:db8:1:2::/64")
        XCTAssertEqual(ClientNetwork.of("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64")
        XCTAssertEqual(ClientNetwork.of("2001:db8::1"), "2001:db8:0:0::/64")
        XCTAssertNotEqual(ClientNetwork.of("2001:db8:1:2::1"), ClientNetwork.of("2001:db8:1:3::1"))
        XCTAssertEqual(ClientNetwork.of("::ffff:192.0.2.7"), "192.0.2.7")  // IPv4-mapped: the IPv4 address
        XCTAssertEqual(ClientNetwork.of("192.0.2.7"), "192.0.2.7")
        XCTAssertEqual(ClientNetwork.of("not an address"), "not an address")
    }

    func testOneMailboxWhateverItsTagOrCase() throws {
        let mailbox = { (text: String) in try EmailAddress.parse(text).get().mailbox }
        XCTAssertEqual(try mailbox("Jane+news@ACME.com"), "jane@acme.com")
        XCTAssertEqual(try mailbox("jane@acme.com"), "jane@acme.com")
        XCTAssertEqual(try mailbox("jane+a+b@acme.com"), "jane@acme.com")
        XCTAssertEqual(try mailbox("+tag@acme.com"), "+tag@acme.com")  // nothing before the +: the whole local part
        XCTAssertNotEqual(try mailbox("j.ane@acme.com"), try mailbox("jane@acme.com"))  // dots are the provider's business
    }
}
