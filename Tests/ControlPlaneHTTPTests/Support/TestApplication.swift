import ControlPlaneCore
@testable import ControlPlaneHTTP
import FastCGI
import Foundation
import OpenSSLCrypto
import Postgres
import ServiceLog
import TestSupport
import XCTest

/// The real route table over a migrated scratch database, driven through the responder
/// without sockets or nginx (as Hummingbird's test client drives its router). Each test
/// class gets its own database; requests carry a service token with every scope, or the
/// control token.
final class TestApplication {
    let scratch: ScratchDatabase
    let application: Application
    let responder: ApplicationResponder
    /// A connection for the test's own reads of the state that must (not) change.
    let db: PostgresConnection
    let serviceToken = ServiceToken.generate()
    let controlToken = "cpct_" + Base64.encode(SecureRandom.bytes(32), url: true)
    let provisionerSecret = StandardWebhooks.generateSecret()
    let hashKey = Array("test-hash-key-0123456789".utf8)

    init(prefix: String) throws {
        scratch = try ScratchDatabase(prefix: prefix)
        db = try scratch.connect()
        let sql = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../sql").standardizedFileURL.path
        try Migrator(connection: db, files: try MigrationFile.load(directory: sql)).migrate(installedFrom: "tests")
        try ServiceTokenStore(db: db).create(name: "tests", token: serviceToken, scopes: Scope.allCases)
        var settings = ApplicationSettings(databaseURL: scratch.url, accessLog: false, tokenCacheSeconds: 0,
                                           provisionerSecret: provisionerSecret)
        settings.controlTokenHashes = [ServiceToken.hash(controlToken)]
        settings.hashKey = hashKey
        settings.secretKeys = SecretKeyRing(keys: [SecureRandom.bytes(32)])
        // As the test stacks: receivers on loopback allowed, everything inside refused.
        settings.webhookDestinations = WebhookDestinationPolicy(allowLoopback: true)
        application = Application(settings: settings, logger: Logger(component: "test", minimumLevel: .error))
        try application.dictionary.refresh(db)
        responder = application.makeResponder()
    }

    /// A responder over the same database with other settings (e.g. no hash key).
    func responder(changing change: (inout ApplicationSettings) -> Void) -> ApplicationResponder {
        var settings = application.settings
        change(&settings)
        return Application(settings: settings, logger: application.logger).makeResponder()
    }

    enum Credential { case service, control, none, bearer(String) }

    struct Reply {
        let status: Int
        let headers: HTTPHeaders
        let body: [UInt8]

        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var items: [[String: Any]] { json["items"] as? [[String: Any]] ?? [] }
        var nextCursor: String? { json["nextCursor"] as? String }
        var problemType: String? { json["type"] as? String }
        var invalidNames: [String] { (json["invalidParams"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
    }

    /// One request through the real router and responder. `query` is sent as written.
    func call(_ method: String, _ path: String, query: String = "", json: Any? = nil, raw: String? = nil,
              as credential: Credential = .service, headers extra: [(String, String)] = [],
              remoteAddress: String = "192.0.2.10") -> Reply {
        var headers = HTTPHeaders()
        var body: [UInt8] = []
        if let json {
            body = Array(try! JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]))
        } else if let raw {
            body = Array(raw.utf8)
        }
        if !body.isEmpty { headers.add("content-type", "application/json") }
        switch credential {
        case .service: headers.add("authorization", "Bearer \(serviceToken)")
        case .control: headers.add("authorization", "Bearer \(controlToken)")
        case .bearer(let token): headers.add("authorization", "Bearer \(token)")
        case .none: break
        }
        for (name, value) in extra { headers.add(name, value) }
        let response = responder.respond(to: Request(method: method, path: path, query: query, headers: headers,
                                                     remoteAddress: remoteAddress, traceId: "test-" + UUID().uuidString,
                                                     body: body)).resolved()
        return Reply(status: response.status, headers: response.headers, body: response.body)
    }

    /// A single number from the test's own connection (row counts, states).
    func scalar(_ query: PostgresQuery) throws -> String {
        let rows = try db.query(query)
        return rows.count == 0 ? "" : (try rows.decodeIfPresent(0, 0, as: String.self) ?? "NULL")
    }

    func count(_ table: StaticString) throws -> Int {
        Int(try scalar("SELECT count(*)::text FROM \(unescaped: table)")) ?? -1
    }

    /// Row counts of every table, in one statement (`query_to_xml` runs a count per table
    /// named by the catalog), to show that a refused request changed nothing anywhere.
    func counts() throws -> [String: Int] {
        let rows = try db.query("""
            SELECT c.relname::text,
                   (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]::text
            FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
            WHERE ns.nspname = 'public' AND c.relkind = 'r'
            """)
        var out: [String: Int] = [:]
        for row in 0..<rows.count { out[try rows.decode(row, 0, as: String.self)] = Int(try rows.decode(row, 1, as: String.self)) }
        return out
    }

    /// A provisioning callback signed with this application's provisioner secret.
    func signedCallback(_ body: [String: Any], id: String = "msg_" + UUID().uuidString) -> Reply {
        let bytes = Array(try! JSONSerialization.data(withJSONObject: body))
        let timestamp = Int(Date().timeIntervalSince1970)
        let key = StandardWebhooks.key(fromSecret: provisionerSecret)!
        return call("POST", "/internal/provisioning/callbacks", raw: String(decoding: bytes, as: UTF8.self), as: .none, headers: [
            ("webhook-id", id), ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", StandardWebhooks.signature(key: key, id: id, timestamp: timestamp, body: bytes)),
        ])
    }

    /// A new tenant (provisioning requested), as the API returns it.
    func createTenant(slug: String = "t-" + UUID().uuidString.prefix(8).lowercased()) -> [String: Any] {
        let reply = call("POST", "/internal/tenants", json: ["slug": slug, "displayName": "Acme", "contactEmail": "ops@acme.example"])
        XCTAssertEqual(reply.status, 201, reply.text)
        return reply.json
    }
}
