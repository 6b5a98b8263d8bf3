@testable import ControlPlaneCore
import OpenSSLCrypto
import XCTest

final class StandardWebhooksTests: XCTestCase {
    func testStandardWebhooksPublishedExample() {
        // The example of the Standard Webhooks specification (also what the Python library signs).
        let key = StandardWebhooks.key(fromSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")!
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let signature = StandardWebhooks.signature(key: key, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1614265330, body: body)
        XCTAssertEqual(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        let ok = StandardWebhooks.verify(key: key, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330",
                                         signatures: "v1,bm9wZQ== \(signature)", body: body, now: 1614265330 + 299)
        XCTAssertNoThrow(try ok.get())
        XCTAssertEqual(failure(StandardWebhooks.verify(key: key, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330",
                                               signatures: signature, body: body, now: 1614265330 + 301)),
                       .timestampOutOfTolerance)
        XCTAssertEqual(failure(StandardWebhooks.verify(key: key, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: "1614265330",
                                               signatures: signature, body: body + [32], now: 1614265330)),
                       .badSignature)
        XCTAssertEqual(failure(StandardWebhooks.verify(key: key, id: nil, timestamp: "1", signatures: signature, body: body)),
                       .missingHeaders)
        XCTAssertEqual(failure(StandardWebhooks.verify(key: key, id: "x", timestamp: "soon", signatures: signature, body: body)),
                       .malformedTimestamp)
        XCTAssertNil(StandardWebhooks.key(fromSecret: "whsec_c2hvcnQ="))  // too short
        XCTAssertNil(StandardWebhooks.key(fromSecret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        XCTAssertNotNil(StandardWebhooks.key(fromSecret: StandardWebhooks.generateSecret()))
    }

    func failure(_ result: Result<Void, StandardWebhooks.VerificationFailure>) -> StandardWebhooks.VerificationFailure? {
        if case .failure(let f) = result { return f }
        return nil
    }
}
