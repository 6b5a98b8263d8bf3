import ControlPlaneCore
@testable import ControlPlaneHTTP
import Foundation
import XCTest

/// Problem bodies echo client input as ASCII, so a client that guesses the charset reads the
/// same document (schemathesis' client once guessed Shift_JIS: U+0801's last byte and the
/// backslash of `\"` became one character, and the JSON broke).
final class ProblemBodyTests: XCTestCase {
    func testEchoedInputIsASCIIAndDecodesToTheSameText() throws {
        let echoed = "kv:erp_cred:\u{80}\u{801}\"\\\u{80} é 😀 \u{7}"
        let problem = Problem.validation("connectorCredentialRef", "must name this tenant: \(echoed)")
        let body = ProblemResponse.response(for: problem, traceId: "t").body
        XCTAssertTrue(body.allSatisfy { $0 < 0x80 }, String(decoding: body, as: UTF8.self))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let params = try XCTUnwrap(object["invalidParams"] as? [[String: String]])
        XCTAssertEqual(params.first?["reason"], "must name this tenant: \(echoed)")
    }
}
