import ControlPlaneCore
@testable import ControlPlaneHTTP
import FastCGI
import Foundation
import OpenSSLCrypto
import XCTest

/// The public trial steps' matrices through the real route table: classifications, the
/// draft secret, the code's lifetime, attempts and sends, details validation.
final class TrialRoutesTests: RouteTestCase {
    nonisolated(unsafe) static let details: [String: Any] = ["companyName": "Acme Robotics", "contactName": "Jane Kim", "country": "KR",
                                         "companySize": "51-200", "useCase": "ERP for our factories"]

    func workAddress() -> String { "jane.\(UUID().uuidString.prefix(8).lowercased())@acme-\(UUID().uuidString.prefix(6).lowercased()).com" }

    func newDraft(_ email: String = "someone@gmail.com") -> (id: String, secret: String) {
        let reply = app.call("POST", "/v1/trial/manual-approval/draft", json: ["email": email], as: .none)
        XCTAssertEqual(reply.status, 201, reply.text)
        return (reply.json["draftId"] as! String, reply.json["draftSecret"] as! String)
    }

    func step(_ draft: (id: String, secret: String), _ path: String, _ body: [String: Any]) -> TestApplication.Reply {
        app.call("POST", "/v1/trial/manual-approval/\(draft.id)/\(path)", json: body, as: .bearer(draft.secret))
    }

    /// A draft with a code requested, and the code set as the sync sets it when it sends the email.
    func draftWithCode(code: String = "482913") throws -> (id: String, secret: String) {
        let draft = newDraft()
        XCTAssertEqual(step(draft, "work-email/otp", ["workEmail": workAddress()]).status, 202)
        let generation = Int(try app.scalar("SELECT otp_generation::text FROM trial_drafts WHERE id = \(draft.id)::uuid"))!
        try TrialDraftStore(db: app.db).setCode(draft.id, hash: OneTimeCode.hash(code: code, draftId: draft.id, generation: generation,
                                                                                 key: app.hashKey), lifetimeSeconds: 600)
        return draft
    }

    func testClassifications() {
        func check(_ email: String) -> [String: Any] {
            let reply = app.call("POST", "/v1/trial/email/check", json: ["email": email], as: .none)
            XCTAssertEqual(reply.status, 200, email)
            return reply.json
        }
        XCTAssertEqual(check("someone@gmail.com")["classification"] as? String, "free")
        XCTAssertEqual(check("someone@GMAIL.COM.")["domain"] as? String, "gmail.com")
        XCTAssertEqual(check("x@mail.yahoo.co.kr")["next"] as? String, "manual_approval")
        XCTAssertEqual(check("x@mailinator.com")["classification"] as? String, "disposable")
        XCTAssertEqual(check("x@\(UUID().uuidString.prefix(8).lowercased()).io")["next"] as? String, "self_serve")
        XCTAssertEqual(check("x@bücher.de")["domain"] as? String, "xn--bcher-kva.de")
        for bad in ["nope", "a@b", #""q"@acme.com"#, "a@localhost", "a b@acme.com", "a@[10.0.0.1]"] {
            let answer = check(bad)
            XCTAssertEqual(answer["classification"] as? String, "invalid", bad)
            XCTAssertTrue(answer["domain"] is NSNull, bad)
            XCTAssertEqual(answer["next"] as? String, "reject", bad)
        }
    }

    func testBadBodiesAre4xxAndChangeNothing() throws {
        let draft = newDraft()
        let before = try app.counts()
        for (path, body, status) in [("/v1/trial/email/check", ["mail": "x@y.co"], 422), ("/v1/trial/email/check", ["email": 5], 400),
                                     ("/v1/trial/email/check", ["email": "a@b.co", "x": 1], 422),
                                     ("/v1/trial/manual-approval/draft", [:], 400),
                                     ("/v1/trial/manual-approval/draft", ["email": "nope"], 422)] as [(String, [String: Any], Int)] {
            let reply = app.call("POST", path, json: body, as: .none)
            XCTAssertEqual(reply.status, status, "\(path) \(body): \(reply.text)")
        }
        XCTAssertEqual(app.call("POST", "/v1/trial/email/check", raw: "{not json", as: .none).status, 400)
        XCTAssertEqual(app.call("POST", "/v1/trial/email/check", raw: "{\"email\":\"\u{FFFD}", as: .none).status, 400)
        // Details are refused on a draft that is not verified (409), and nothing changes.
        XCTAssertEqual(step(draft, "submit-details", Self.details).status, 409)
        XCTAssertEqual(try app.counts(), before)
    }

    /// Details validation on a verified draft: each bad field is a 422 naming it.
    func testDetailsValidationNamesTheField() throws {
        let draft = try draftWithCode()
        XCTAssertEqual(step(draft, "work-email/verify", ["code": "482913"]).status, 200)
        let before = try app.counts()
        for (change, field) in [(["country": "Korea"], "country"), (["companySize": "huge"], "companySize"),
                                (["companyName": ""], "companyName"), (["useCase": String(repeating: "x", count: 2001)], "useCase"),
                                (["contactName": "A\u{7}B"], "contactName")] as [([String: Any], String)] {
            let reply = step(draft, "submit-details", Self.details.merging(change) { $1 })
            XCTAssertEqual(reply.status, 422, "\(change)")
            XCTAssertEqual(reply.invalidNames, [field])
        }
        var missing = Self.details
        missing["country"] = nil
        XCTAssertEqual(step(draft, "submit-details", missing).status, 400)
        XCTAssertEqual(try app.counts(), before)
        XCTAssertEqual(step(draft, "submit-details", Self.details).status, 202)
        XCTAssertEqual(try app.scalar("SELECT status FROM trial_drafts WHERE id = \(draft.id)::uuid"), "submitted")
    }

    func testWrongCodesUntilLockout() throws {
        let draft = try draftWithCode()
        for left in [4, 3, 2, 1] {
            let reply = step(draft, "work-email/verify", ["code": "000000"])
            XCTAssertEqual(reply.problemType, "urn:controlplane:problem:wrong-code")
            XCTAssertTrue((reply.json["detail"] as? String ?? "").contains("\(left) attempts left"), reply.text)
        }
        XCTAssertEqual(step(draft, "work-email/verify", ["code": "000000"]).problemType, "urn:controlplane:problem:too-many-attempts")
        // The right code no longer works: the code is dead, and every attempt was logged.
        XCTAssertEqual(step(draft, "work-email/verify", ["code": "482913"]).problemType, "urn:controlplane:problem:no-active-code")
        XCTAssertEqual(try app.scalar("SELECT status FROM trial_drafts WHERE id = \(draft.id)::uuid"), "draft")
        XCTAssertEqual(try app.scalar("""
            SELECT count(*)::text FROM signup_attempts WHERE draft_id = \(draft.id)::uuid AND step = 'otp_verify'
            """), "6")
    }

    func testExpiredAndReplayedCodes() throws {
        let expired = try draftWithCode()
        try app.db.query("UPDATE trial_drafts SET otp_expires_at = now() - interval '1 second' WHERE id = \(expired.id)::uuid")
        XCTAssertEqual(step(expired, "work-email/verify", ["code": "482913"]).problemType, "urn:controlplane:problem:code-expired")
        let draft = try draftWithCode()
        XCTAssertEqual(step(draft, "work-email/verify", ["code": "482913"]).status, 200)
        let replay = step(draft, "work-email/verify", ["code": "482913"])
        XCTAssertEqual(replay.status, 409)
        XCTAssertEqual(replay.problemType, "urn:controlplane:problem:draft-closed")
    }

    func testAnotherDraftsSecretAndMissingSecret() throws {
        let a = newDraft(), b = newDraft()
        let before = try app.counts()
        for (path, body) in [("work-email/otp", ["workEmail": workAddress()]), ("work-email/verify", ["code": "123456"]),
                             ("submit-details", Self.details)] as [(String, [String: Any])] {
            XCTAssertEqual(step((a.id, b.secret), path, body).status, 404, path)
            XCTAssertEqual(app.call("POST", "/v1/trial/manual-approval/\(a.id)/\(path)", json: body, as: .none).status, 401, path)
            XCTAssertEqual(step((a.id, "cpds_" + String(repeating: "A", count: 43)), path, body).status, 404, path)
            XCTAssertEqual(step(("not-a-uuid", a.secret), path, body).status, 404, path)
        }
        XCTAssertEqual(app.call("GET", "/v1/trial/manual-approval/\(a.id)", as: .bearer(b.secret)).status, 404)
        XCTAssertEqual(try app.counts(), before)
        let own = app.call("GET", "/v1/trial/manual-approval/\(a.id)", as: .bearer(a.secret))
        XCTAssertEqual(own.json["status"] as? String, "draft")
    }

    func testResendCooldownAndPerDraftCap() throws {
        let draft = newDraft()
        let work = workAddress()
        XCTAssertEqual(step(draft, "work-email/otp", ["workEmail": work]).status, 202)
        let cooldown = step(draft, "work-email/otp", ["workEmail": work])
        XCTAssertEqual(cooldown.status, 429)
        XCTAssertEqual(cooldown.problemType, "urn:controlplane:problem:resend-cooldown")
        XCTAssertTrue((1...60).contains(Int(cooldown.headers["retry-after"] ?? "") ?? 0))
        func pastCooldown() throws {
            try app.db.query("UPDATE trial_drafts SET otp_requested_at = now() - interval '2 minutes' WHERE id = \(draft.id)::uuid")
        }
        for _ in 0..<4 {
            try pastCooldown()
            XCTAssertEqual(step(draft, "work-email/otp", ["workEmail": work]).status, 202)
        }
        try pastCooldown()
        let capped = step(draft, "work-email/otp", ["workEmail": work])
        XCTAssertEqual(capped.problemType, "urn:controlplane:problem:send-limit")
        XCTAssertEqual(try app.scalar("SELECT count(*)::text FROM email_outbox WHERE draft_id = \(draft.id)::uuid"), "5")
    }

    func testCodesGoOnlyToWorkAddresses() throws {
        for address in ["me@gmail.com", "me@mailinator.com", "not-an-address"] {
            let draft = newDraft()
            let reply = step(draft, "work-email/otp", ["workEmail": address])
            XCTAssertEqual(reply.status, 422, address)
            XCTAssertEqual(reply.invalidNames, ["workEmail"])
            XCTAssertEqual(try app.scalar("SELECT count(*)::text FROM email_outbox WHERE draft_id = \(draft.id)::uuid"), "0")
            XCTAssertEqual(try app.scalar("SELECT otp_sends::text FROM trial_drafts WHERE id = \(draft.id)::uuid"), "0")
        }
    }

    func testSmsRoutesAreGone() {
        let draft = newDraft()
        for path in ["/v1/trial/manual-approval/\(draft.id)/sms/otp", "/v1/trial/manual-approval/\(draft.id)/sms/verify",
                     "/v1/trial/sms/otp", "/v1/trial/sms/verify"] {
            let reply = app.call("POST", path, json: ["phone": "+821000000000"], as: .bearer(draft.secret))
            XCTAssertEqual(reply.status, 410, path)
            XCTAssertEqual(reply.problemType, "urn:controlplane:problem:sms-removed")
        }
    }

    /// Without CONTROLPLANE_HASH_KEY the funnel cannot log or issue codes: every step is a
    /// 503 problem and nothing is written.
    func testTrialRoutesAnswer503WithoutAHashKey() throws {
        let unconfigured = app.responder { $0.hashKey = nil }
        let before = try app.counts()
        for (path, body) in [("/v1/trial/email/check", #"{"email":"a@acme.com"}"#),
                             ("/v1/trial/manual-approval/draft", #"{"email":"a@gmail.com"}"#),
                             ("/v1/trial/manual-approval/\(UUID().uuidString.lowercased())/work-email/otp", #"{"workEmail":"a@acme.com"}"#)] {
            var headers = HTTPHeaders()
            headers.add("content-type", "application/json")
            headers.add("authorization", "Bearer cpds_" + String(repeating: "A", count: 43))
            let response = unconfigured.respond(to: Request(method: "POST", path: path, headers: headers, traceId: "t",
                                                            body: Array(body.utf8)))
            XCTAssertEqual(response.status, 503, path)
            XCTAssertTrue(String(decoding: response.body, as: UTF8.self).contains("urn:controlplane:problem:trial-not-configured"), path)
        }
        XCTAssertEqual(try app.counts(), before)
    }
}
