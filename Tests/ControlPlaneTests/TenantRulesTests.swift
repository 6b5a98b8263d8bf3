@testable import ControlPlane
import Crypto
import XCTest

final class TenantRulesTests: XCTestCase {
    func testLifecycleTable() {
        XCTAssertEqual(TenantAction.requestProvisioning.next(from: .pending), .provisioning)
        XCTAssertEqual(TenantAction.siteCreated.next(from: .provisioning), .active)
        XCTAssertEqual(TenantAction.siteFailed.next(from: .provisioning), .provisioningFailed)
        XCTAssertEqual(TenantAction.requestProvisioning.next(from: .provisioningFailed), .provisioning)
        XCTAssertEqual(TenantAction.suspend.next(from: .active), .suspended)
        XCTAssertEqual(TenantAction.resume.next(from: .suspended), .active)
        XCTAssertEqual(TenantAction.deprovision.next(from: .suspended), .deprovisioning)
        XCTAssertEqual(TenantAction.siteDeleted.next(from: .deprovisioning), .deprovisioned)
        // Everything else is refused; deprovisioned is terminal.
        let actions: [TenantAction] = [.requestProvisioning, .siteCreated, .siteFailed, .suspend, .resume, .deprovision, .siteDeleted]
        for action in actions { XCTAssertNil(action.next(from: .deprovisioned), "\(action)") }
        XCTAssertNil(TenantAction.suspend.next(from: .provisioning))
        XCTAssertNil(TenantAction.resume.next(from: .active))
        XCTAssertNil(TenantAction.siteCreated.next(from: .active))
        XCTAssertNil(TenantAction.deprovision.next(from: .pending))
        let legal = TenantStatus.allCases.flatMap { s in actions.compactMap { $0.next(from: s) != nil ? 1 : nil } }.count
        XCTAssertEqual(legal, 10)
    }

    func testCredentialReferences() {
        let id = "3f0c2a52-7d59-4f43-9a57-58c4c0e0f1aa"
        for good in ["kv:erp_cred:\(id)", "kv:erp_cred:acme", "vault:secret/data/erp/acme", "aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:erp-acme",
                     "gcp-sm:projects/p/secrets/erp-acme/versions/3", "azure-kv:erp-acme"] {
            XCTAssertEqual(CredentialReference.check(good), .reference, good)
        }
        for malformed in ["plain", "file:/etc/passwd", "kv:", "kv:has space", "KV:x"] {
            guard case .malformed = CredentialReference.check(malformed) else { return XCTFail(malformed) }
        }
        for secret in ["-----BEGIN RSA PRIVATE KEY-----", "kv:password=abc", "kv:x?token=abc", "kv:https://u:p@h/x",
                       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                       "kv:sk_live_51HqLyjWDarjtT1zdp7dcXy9mN3bQ", "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
                       "kv:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"] {
            guard case .looksLikeSecret = CredentialReference.check(secret) else { return XCTFail(secret) }
        }
    }

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

    func testServiceTokenShape() {
        let token = ServiceToken.generate()
        XCTAssertTrue(ServiceToken.isWellFormed(token))
        XCTAssertFalse(ServiceToken.isWellFormed(token + "x"))
        XCTAssertFalse(ServiceToken.isWellFormed("cpst_" + String(repeating: "!", count: 43)))
        XCTAssertEqual(ServiceToken.bearer(from: "Bearer abc"), "abc")
        XCTAssertEqual(ServiceToken.bearer(from: "bearer   abc "), "abc")
        XCTAssertNil(ServiceToken.bearer(from: "Basic abc"))
        XCTAssertNil(ServiceToken.bearer(from: "Bearer"))
        XCTAssertNil(ServiceToken.bearer(from: "Bearer   "))
        XCTAssertNil(ServiceToken.bearer(from: "Bearerabc"))
        XCTAssertNil(ServiceToken.bearer(from: ""))
        XCTAssertEqual(ServiceToken.bearer(from: " BEARER\tcpst_x\t"), "cpst_x")
        XCTAssertEqual(ServiceToken.bearer(from: "Bearer a b"), "a b")  // the caller's shape check refuses it
        XCTAssertEqual(try Scope.parseList("tenants:read, all").get().count, Scope.allCases.count)
        XCTAssertThrowsError(try Scope.parseList("tenants:read,root").get())
    }

    func testJSONWriterEscapesAndNests() throws {
        var json = JSONWriter()
        json.beginObject()
        json.key("a"); json.string("x\"\n\u{1}é")
        json.key("b"); json.beginArray(); json.int(1); json.null(); json.bool(true); json.beginObject(); json.endObject(); json.endArray()
        let raw = Array("q\"\\\u{0}z".utf8)
        json.key("c"); raw.withUnsafeBufferPointer { json.string(utf8: $0) }
        json.key("d"); json.raw(Array("{\"k\":1}".utf8))
        json.endObject()
        let text = String(decoding: json.bytes, as: UTF8.self)
        XCTAssertEqual(text, #"{"a":"x\"\n\u0001é","b":[1,null,true,{}],"c":"q\"\\\u0000z","d":{"k":1}}"#)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(json.bytes)))
    }

    func testTimestampsAndRFC3339() {
        let text = Array("2026-11-21 19:58:18.123456+00".utf8)
        var json = JSONWriter()
        text.withUnsafeBufferPointer { json.timestamp(postgresText: $0) }
        XCTAssertEqual(String(decoding: json.bytes, as: UTF8.self), #""2026-11-21T19:58:18.123456Z""#)
        for valid in ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123456789+09:00", "2026-01-02t03:04:05z"] {
            XCTAssertTrue(RFC3339.isValid(valid), valid)
        }
        for invalid in ["2026-01-02", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05", "2026-01-02T03:04:05+0900",
                        "2026-01-02T03:04:05.Z", "yesterday", "2026-01-02T03:04:05Z ", "2000-01-01T00:00:00+16:60",
                        "2000-01-01T00:00:00+24:00", "2026-13-02T03:04:05Z", "2026-01-02T24:04:05Z"] {
            XCTAssertFalse(RFC3339.isValid(invalid), invalid)
        }
    }

    func testETagMatching() {
        XCTAssertTrue(DirectoryHandler.matches(#""abc""#, #""abc""#))
        XCTAssertTrue(DirectoryHandler.matches(#""x", W/"abc""#, #""abc""#))
        XCTAssertTrue(DirectoryHandler.matches("*", #""abc""#))
        XCTAssertFalse(DirectoryHandler.matches(#""abd""#, #""abc""#))
    }

    func testValidationRules() {
        XCTAssertNil(TenantValidation.slugProblem("acme-2"))
        XCTAssertNotNil(TenantValidation.slugProblem("Acme"))
        XCTAssertNotNil(TenantValidation.slugProblem("acme-"))
        XCTAssertNil(TenantValidation.hostnameProblem("acme.erp.example.com"))
        XCTAssertNotNil(TenantValidation.hostnameProblem("acme..example.com"))
        XCTAssertNotNil(TenantValidation.hostnameProblem("-acme.example.com"))
        XCTAssertTrue(TenantValidation.isUUID("3f0c2a52-7d59-4f43-9a57-58c4c0e0f1aa"))
        XCTAssertFalse(TenantValidation.isUUID("3f0c2a52-7d59-4f43-9a57-58c4c0e0f1a'"))
        XCTAssertNil(TenantValidation.emailProblem("ops@acme.example"))
        XCTAssertNotNil(TenantValidation.emailProblem("ops@acme"))
        XCTAssertNotNil(TenantValidation.emailProblem("o ps@acme.example"))
    }
}
