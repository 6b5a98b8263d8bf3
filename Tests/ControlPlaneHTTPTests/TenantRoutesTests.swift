import ControlPlaneCore
import Foundation
import Postgres
@testable import ControlPlaneHTTP
import XCTest

/// Validation and state-machine matrices of the tenant routes, through the real route table.
final class TenantRoutesTests: RouteTestCase {
    func testInvalidFieldsAre4xxAndChangeNothing() throws {
        let valid: [String: Any] = ["slug": "okay", "displayName": "A", "contactEmail": "a@b.co"]
        let cases: [([String: Any], Int, String?)] = [
            (["displayName": "A", "contactEmail": "a@b.co"], 400, nil),
            (valid.merging(["slug": "Bad Slug"]) { $1 }, 422, "slug"),
            (valid.merging(["slug": "-bad"]) { $1 }, 422, "slug"),
            (valid.merging(["slug": String(repeating: "a", count: 64)]) { $1 }, 422, "slug"),
            (valid.merging(["displayName": ""]) { $1 }, 422, "displayName"),
            (valid.merging(["displayName": "A\u{0}B"]) { $1 }, 422, "displayName"),
            (valid.merging(["contactEmail": "not-an-email"]) { $1 }, 422, "contactEmail"),
            (valid.merging(["plan": "Gold Plan"]) { $1 }, 422, "plan"),
            (valid.merging(["extra": 1]) { $1 }, 422, "extra"),
            (valid.merging(["slug": 5]) { $1 }, 400, nil),
        ]
        let before = try app.counts()
        for (body, status, field) in cases {
            let reply = app.call("POST", "/internal/tenants", json: body)
            XCTAssertEqual(reply.status, status, "\(body): \(reply.text)")
            XCTAssertEqual(reply.headers["content-type"], "application/problem+json")
            if let field { XCTAssertEqual(reply.invalidNames, [field], "\(body)") }
        }
        for (raw, status, type) in [("slug=x", 400, "malformed-json"), ("{not json", 400, "malformed-json"),
                                    (String(repeating: "[", count: 100_000), 400, "malformed-json")] {
            let reply = app.call("POST", "/internal/tenants", raw: raw)
            XCTAssertEqual(reply.status, status, raw.prefix(20) + "")
            XCTAssertEqual(reply.problemType, "urn:controlplane:problem:" + type)
        }
        XCTAssertEqual(try app.counts(), before)
    }

    func testDuplicateSlugIs409AndChangesNothing() throws {
        let tenant = app.createTenant()
        let before = try app.counts()
        let reply = app.call("POST", "/internal/tenants", json: ["slug": tenant["slug"]!, "displayName": "Other", "contactEmail": "x@y.co"])
        XCTAssertEqual(reply.status, 409)
        XCTAssertEqual(reply.problemType, "urn:controlplane:problem:slug-taken")
        XCTAssertEqual(try app.counts(), before)
    }

    func testUnknownOrMalformedIdsAre404() throws {
        for path in ["/internal/tenants/\(UUID().uuidString.lowercased())", "/internal/tenants/not-a-uuid",
                     "/internal/tenants/' OR '1'='1", "/internal/tenants/\(UUID().uuidString.lowercased())/events"] {
            let reply = app.call("GET", path)
            XCTAssertEqual(reply.status, 404, path)
            XCTAssertEqual(reply.problemType, "urn:controlplane:problem:not-found")
        }
        let before = try app.counts()
        XCTAssertEqual(app.call("POST", "/internal/tenants/\(UUID().uuidString.lowercased())/suspend", json: ["reason": "x"]).status, 404)
        XCTAssertEqual(try app.counts(), before)
    }

    /// Every action from every status: the legal ones move the tenant and record one event,
    /// the illegal ones are 409 and change nothing.
    func testLifecycleStateMachine() throws {
        let tenant = app.createTenant()
        let id = tenant["id"] as! String
        XCTAssertEqual(tenant["status"] as? String, "provisioning")
        func status() throws -> String { try app.scalar("SELECT status FROM tenants_master WHERE id = \(id)::uuid") }
        func events() throws -> Int { Int(try app.scalar("SELECT count(*)::text FROM tenant_events WHERE tenant_id = \(id)::uuid"))! }
        func refused(_ action: String, _ body: [String: Any] = ["reason": "r"]) throws {
            let (statusBefore, eventsBefore) = (try status(), try events())
            let reply = app.call("POST", "/internal/tenants/\(id)/\(action)", json: body)
            XCTAssertEqual(reply.status, 409, "\(action) from \(statusBefore)")
            XCTAssertEqual(reply.problemType, "urn:controlplane:problem:illegal-transition")
            XCTAssertEqual(try status(), statusBefore)
            XCTAssertEqual(try events(), eventsBefore)
        }
        func moves(_ action: String, to expected: String, _ body: [String: Any]? = ["reason": "r"]) throws {
            let eventsBefore = try events()
            let reply = app.call("POST", "/internal/tenants/\(id)/\(action)", json: body)
            XCTAssertEqual(reply.status, 200, reply.text)
            XCTAssertEqual(reply.json["status"] as? String, expected)
            XCTAssertEqual(try events(), eventsBefore + 1)
        }
        for action in ["suspend", "resume", "provision"] { try refused(action) }
        XCTAssertEqual(app.signedCallback(["tenantId": id, "event": "site.created", "siteHostname": "acme.erp.example.com"]).status, 200)
        XCTAssertEqual(try status(), "active")
        for action in ["resume", "provision"] { try refused(action) }
        // A reason is required to suspend: 422, nothing recorded.
        let eventsBefore = try events()
        XCTAssertEqual(app.call("POST", "/internal/tenants/\(id)/suspend", json: [:] as [String: Any]).status, 422)
        XCTAssertEqual(app.call("POST", "/internal/tenants/\(id)/suspend", json: ["reason": String(repeating: "x", count: 501)]).status, 422)
        XCTAssertEqual(try events(), eventsBefore)
        try moves("suspend", to: "suspended")
        for action in ["suspend", "provision"] { try refused(action) }
        try moves("resume", to: "active", nil)
        try moves("deprovision", to: "deprovisioning")
        for action in ["suspend", "resume", "deprovision", "provision"] { try refused(action) }
        XCTAssertEqual(app.signedCallback(["tenantId": id, "event": "site.deleted"]).json["status"] as? String, "deprovisioned")
        for action in ["suspend", "resume", "deprovision", "provision"] { try refused(action) }
        let history = app.call("GET", "/internal/tenants/\(id)/events").items.map { "\($0["fromStatus"] as? String ?? "-")>\($0["toStatus"]!)" }
        XCTAssertEqual(history, ["->pending", "pending>provisioning", "provisioning>active", "active>suspended",
                                 "suspended>active", "active>deprovisioning", "deprovisioning>deprovisioned"])
        XCTAssertEqual(try app.scalar("""
            SELECT actor || '|' || reason FROM tenant_events WHERE tenant_id = \(id)::uuid AND to_status = 'suspended'
            """), "service:tests|r")
        // The events page with a cursor.
        let first = app.call("GET", "/internal/tenants/\(id)/events", query: "limit=4")
        XCTAssertEqual(first.items.count, 4)
        let rest = app.call("GET", "/internal/tenants/\(id)/events", query: "limit=4&cursor=\(first.nextCursor!)")
        XCTAssertEqual(rest.items.count, 3)
        XCTAssertNil(rest.nextCursor)
    }

    func testProvisioningFailureAndRetry() throws {
        let id = app.createTenant()["id"] as! String
        let failed = app.signedCallback(["tenantId": id, "event": "site.failed", "error": "bench timeout"])
        XCTAssertEqual(failed.json["status"] as? String, "provisioning_failed")
        XCTAssertEqual(app.call("POST", "/internal/tenants/\(id)/provision").json["status"] as? String, "provisioning")
        // A replayed webhook-id is answered and changes nothing.
        let message = "msg_replay_" + id
        XCTAssertEqual(app.signedCallback(["tenantId": id, "event": "site.failed"], id: message).json["applied"] as? Bool, true)
        let before = try app.counts()
        let replay = app.signedCallback(["tenantId": id, "event": "site.failed"], id: message)
        XCTAssertEqual(replay.status, 200)
        XCTAssertEqual(replay.json["applied"] as? Bool, false)
        XCTAssertEqual(try app.counts(), before)
    }

    func testCallbackBadBodiesChangeNothing() throws {
        let id = app.createTenant()["id"] as! String
        let before = try app.counts()
        for (body, status) in [(["tenantId": id, "event": "site.exploded"], 422), (["tenantId": id, "event": "site.created"], 422),
                               (["tenantId": id, "event": "site.created", "siteHostname": "not a host"], 422),
                               (["tenantId": "x", "event": "site.failed"], 422), (["event": "site.failed"], 400),
                               (["tenantId": UUID().uuidString.lowercased(), "event": "site.failed"], 404)] as [([String: Any], Int)] {
            XCTAssertEqual(app.signedCallback(body).status, status, "\(body)")
        }
        let unsigned = app.call("POST", "/internal/provisioning/callbacks", json: ["tenantId": id, "event": "site.failed"], as: .none)
        XCTAssertEqual(unsigned.status, 401)
        XCTAssertEqual(unsigned.problemType, "urn:controlplane:problem:bad-signature")
        XCTAssertEqual(try app.counts(), before)
    }

    func testConnectorMatrix() throws {
        let id = app.createTenant()["id"] as! String
        let other = app.createTenant()["id"] as! String
        let secrets = [
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
            "kv:password=hunter2hunter2",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "kv:erp/sk_live_51HqLyjWDarjtT1zdp7dcXy9mN3bQ", "vault:AKIAIOSFODNN7EXAMPLEwJalrXUtnFEMIK7MDENG",
            "kv:https://user:pass@vault.example.com/x", "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHNlY3JldCBrZXkgdmFsdWU=",
        ]
        let before = try app.counts()
        for secret in secrets {
            let reply = app.call("PATCH", "/internal/tenant-connector-metadata",
                                 json: ["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": secret])
            XCTAssertEqual(reply.status, 422, secret)
            XCTAssertEqual(reply.invalidNames, ["connectorCredentialRef"])
            XCTAssertFalse(reply.text.contains(secret))
        }
        let cases: [([String: Any], Int)] = [
            (["tenantId": UUID().uuidString.lowercased(), "connectorKind": "frappe"], 404),
            (["tenantId": id, "connectorKind": "excel"], 422),
            (["tenantId": id, "connectorCredentialRef": "kv:x"], 422),
            (["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": "plain-text"], 422),
            (["connectorKind": "frappe"], 400),
            // A reference must name the tenant it is stored on, and no other.
            (["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": "kv:erp_cred:\(other)"], 422),
            (["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": "kv:erp_cred"], 422),
            (["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": "vault:erp/\(id)/\(other)"], 422),
            (["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": "vault:erp/\(id)/x\(other)"], 422),
        ]
        for (body, status) in cases {
            XCTAssertEqual(app.call("PATCH", "/internal/tenant-connector-metadata", json: body).status, status, "\(body)")
        }
        XCTAssertEqual(try app.counts(), before)
        XCTAssertEqual(try app.scalar("SELECT connector_credential_ref FROM tenants_master WHERE id = \(id)::uuid"), "NULL")
        let ref = "kv:erp_cred:\(id)"
        let set = app.call("PATCH", "/internal/tenant-connector-metadata", json: ["tenantId": id, "connectorKind": "frappe",
                                                                                   "connectorCredentialRef": ref])
        XCTAssertEqual(set.json["connectorCredentialRef"] as? String, ref)
        let cleared = app.call("PATCH", "/internal/tenant-connector-metadata", json: ["tenantId": id, "connectorKind": NSNull(),
                                                                                       "connectorCredentialRef": NSNull()])
        XCTAssertTrue(cleared.json["connectorKind"] is NSNull)
        for ref in ["vault:secret/data/erp/\(id)/db", "aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:\(id)",
                    "kv:erp_cred:\(id)"] {
            XCTAssertEqual(app.call("PATCH", "/internal/tenant-connector-metadata",
                                    json: ["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": ref]).status, 200, ref)
        }
    }

    func testDirectoryPagesInIdOrderAndRefusesBadParameters() throws {
        for _ in 0..<7 { _ = app.createTenant() }
        var seen: [String] = [], cursor: String?
        repeat {
            let reply = app.call("GET", "/internal/tenants-directory", query: "limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
            XCTAssertEqual(reply.status, 200)
            XCTAssertLessThanOrEqual(reply.items.count, 3)
            seen += reply.items.map { $0["id"] as! String }
            cursor = reply.nextCursor
        } while cursor != nil
        XCTAssertEqual(seen.count, try app.count("tenants_master"))
        XCTAssertEqual(seen, seen.sorted())
        XCTAssertEqual(Set(seen).count, seen.count)
        let forged = PageCursor("' OR 1=1").encoded
        for (query, name) in [("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"), ("cursor=garbage!", "cursor"),
                              ("cursor=\(forged)", "cursor"), ("status=happy", "status"), ("connectorKind=sap", "connectorKind"),
                              ("updatedSince=yesterday", "updatedSince"), ("sort=name", "sort"), ("limit=2&limit=3", "limit")] {
            let reply = app.call("GET", "/internal/tenants-directory", query: query)
            XCTAssertEqual(reply.status, 400, query)
            XCTAssertEqual(reply.invalidNames, [name], query)
        }
        // Several bad parameters are all named in one answer.
        XCTAssertEqual(Set(app.call("GET", "/internal/tenants-directory", query: "limit=0&status=x&foo=1").invalidNames),
                       ["limit", "status", "foo"])
        XCTAssertEqual(app.call("GET", "/internal/tenants-directory", query: "updatedSince=2024-13-45T25:61:61Z").status, 400)
    }

    /// A refresh stuck on the database (here another thread's, behind a table lock; in
    /// production one on a host that went silent) does not queue reads behind it: a read that
    /// must catch up waits a bounded time, then fails as the database being away (a 503).
    func testACatchUpBehindAStuckRefreshGivesUpInsteadOfQueueing() throws {
        let directory = TenantDirectory()
        try directory.refresh(try app.scratch.connect())
        _ = app.createTenant()  // this process wrote a version the directory does not hold yet
        let holder = try app.scratch.connect()
        try holder.execute(script: "BEGIN; LOCK TABLE tenants_master IN ACCESS EXCLUSIVE MODE")
        var slow = PostgresConnection.Options()
        slow.statementTimeoutMilliseconds = 5000
        nonisolated(unsafe) let stuck = try app.scratch.connect(options: slow)  // used by that thread alone
        let reader = try app.scratch.connect(options: slow)
        let stuckEnded = DispatchSemaphore(value: 0)
        Thread { _ = try? directory.refresh(stuck); stuckEnded.signal() }.start()
        Thread.sleep(forTimeInterval: 0.3)  // the other refresh holds the directory's lock, blocked on the table
        XCTAssertThrowsError(try directory.snapshot(reader, waitMilliseconds: 300)) {
            XCTAssertEqual(($0 as? PostgresError)?.kind, .connectionUnavailable)
        }
        XCTAssertEqual(stuckEnded.wait(timeout: .now()), .timedOut, "the read waited for the stuck refresh to end")
        try holder.execute(script: "ROLLBACK")
        XCTAssertEqual(stuckEnded.wait(timeout: .now() + 10), .success)
        // The database answers again: the read catches up.
        XCTAssertGreaterThanOrEqual(try directory.snapshot(reader).version, TenantStore.writtenVersion.load(ordering: .relaxed))
    }

    /// No watcher runs in this process: a write is in the next directory read only because the
    /// read catches up to the version this process wrote (the same holds with a watcher, which
    /// may lag a NOTIFY behind). An If-None-Match of the current page is answered 304, and a
    /// change gives the page a new ETag.
    func testDirectoryReadsItsOwnWritesAndRevalidates() throws {
        func page() -> TestApplication.Reply {
            app.call("GET", "/internal/tenants-directory", query: "limit=500&updatedSince=2000-01-01T00:00:00Z")
        }
        func listed(_ id: String) -> [String: Any]? { page().items.first { $0["id"] as? String == id } }
        let first = page()
        XCTAssertEqual(first.status, 200)
        let etag = try XCTUnwrap(first.headers["etag"])
        XCTAssertEqual(app.call("GET", "/internal/tenants-directory", query: "limit=500&updatedSince=2000-01-01T00:00:00Z",
                                headers: [("if-none-match", etag)]).status, 304)
        for _ in 0..<5 {
            let created = app.createTenant()
            let id = try XCTUnwrap(created["id"] as? String)
            XCTAssertEqual(listed(id)?["status"] as? String, created["status"] as? String)
            XCTAssertEqual(app.call("PATCH", "/internal/tenant-connector-metadata",
                                    json: ["tenantId": id, "connectorKind": "frappe", "connectorCredentialRef": "kv:erp_cred:\(id)"]).status, 200)
            XCTAssertEqual(listed(id)?["connectorCredentialRef"] as? String, "kv:erp_cred:\(id)")
        }
        let changed = page()
        XCTAssertNotEqual(changed.headers["etag"], etag)
        XCTAssertEqual(app.call("GET", "/internal/tenants-directory", query: "limit=500&updatedSince=2000-01-01T00:00:00Z",
                                headers: [("if-none-match", etag)]).status, 200)
        XCTAssertEqual(changed.items.count, try app.count("tenants_master"))
    }
}
