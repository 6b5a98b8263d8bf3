@testable import ControlPlaneHTTP
import ControlPlaneCore
import FastCGI
import Foundation
import ServiceLog
import XCTest

/// Drives the application in memory, without sockets or nginx.
final class ApplicationResponderTests: XCTestCase {
    struct Greeting: Codable { var name: String; var count: Int }
    struct Boom: Error {}

    func makeResponder() -> ApplicationResponder {
        let settings = ApplicationSettings(databaseURL: "postgresql:///none?host=/nonexistent-dir", accessLog: false)
        let app = Application(settings: settings, logger: Logger(component: "test", minimumLevel: .error)) { router in
            router.add("POST", "/echo", operationId: "echo") { context in
                let greeting = try context.decodeJSON(Greeting.self)
                return try .json(greeting, status: 201)
            }
            router.add("GET", "/boom", operationId: "boom") { _ in throw Boom() }
            router.add("GET", "/db", operationId: "db") { context in
                try context.database.query("SELECT 1")
                return Response(status: 200)
            }
            router.add("GET", "/items/{id}", operationId: "item") { context in
                guard context.parameter("id") == "7" else { throw Problem.notFound("No such item.") }
                return Response(status: 200, body: Array("seven".utf8))
            }
        }
        return app.makeResponder()
    }

    func request(_ method: String, _ path: String, body: String? = nil, contentType: String? = "application/json",
                 bodyProblem: RequestBodyProblem? = nil) -> Request {
        var headers = HTTPHeaders()
        if let contentType { headers.add("content-type", contentType) }
        return Request(method: method, path: path, headers: headers, traceId: "trace-123",
                       body: Array((body ?? "").utf8), bodyProblem: bodyProblem)
    }

    func problem(_ response: Response) throws -> [String: Any] {
        XCTAssertEqual(response.headers["content-type"], "application/problem+json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }

    func testValidJSONIsDecodedAndEncoded() throws {
        let response = makeResponder().respond(to: request("POST", "/echo", body: #"{"name":"é","count":2}"#))
        XCTAssertEqual(response.status, 201)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        XCTAssertEqual(object["name"] as? String, "é")
    }

    func testMalformedJSONIsA400Problem() throws {
        let responder = makeResponder()
        for body in ["{", "not json", #"{"name":"a","count":"two"}"#, #"{"count":1}"#, "[]", "\u{0}", #"{"name":"\#u{FFFF}"#] {
            let response = responder.respond(to: request("POST", "/echo", body: body))
            XCTAssertEqual(response.status, 400, body)
            let p = try problem(response)
            XCTAssertEqual(p["status"] as? Int, 400)
            XCTAssertEqual(p["type"] as? String, "urn:controlplane:problem:malformed-json")
            XCTAssertEqual(p["traceId"] as? String, "trace-123")
        }
        XCTAssertEqual(try problem(responder.respond(to: request("POST", "/echo", body: #"{"count":1}"#)))["detail"] as? String,
                       "name is required.")
    }

    func testEmptyBodyAndWrongMediaType() throws {
        let responder = makeResponder()
        XCTAssertEqual(responder.respond(to: request("POST", "/echo", body: "")).status, 400)
        XCTAssertEqual(responder.respond(to: request("POST", "/echo", body: "name=a", contentType: "application/x-www-form-urlencoded")).status, 415)
        XCTAssertEqual(responder.respond(to: request("POST", "/echo", body: #"{"name":"a","count":1}"#, contentType: nil)).status, 415)
        XCTAssertEqual(responder.respond(to: request("POST", "/echo", body: #"{"name":"a","count":1}"#, contentType: "application/json; charset=utf-8")).status, 201)
    }

    func testBodyProblemsFromTheTransport() throws {
        let responder = makeResponder()
        let tooLarge = responder.respond(to: request("POST", "/echo", bodyProblem: .tooLarge(limit: 1024)))
        XCTAssertEqual(tooLarge.status, 413)
        XCTAssertEqual(try problem(tooLarge)["type"] as? String, "urn:controlplane:problem:body-too-large")
        XCTAssertEqual(responder.respond(to: request("POST", "/echo", bodyProblem: .invalidLength)).status, 400)
        XCTAssertEqual(responder.respond(to: request("POST", "/echo", bodyProblem: .incomplete(expected: 10, received: 3))).status, 400)
    }

    func testNotFoundAndMethodNotAllowed() throws {
        let responder = makeResponder()
        let missing = responder.respond(to: request("GET", "/nowhere"))
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(try problem(missing)["status"] as? Int, 404)
        let wrong = responder.respond(to: request("DELETE", "/echo"))
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.headers["allow"], "POST")
        XCTAssertEqual(responder.respond(to: request("GET", "/items/8")).status, 404)
        XCTAssertEqual(responder.respond(to: request("GET", "/items/7")).body, Array("seven".utf8))
    }

    func testThrowingHandlerGives500AndTheResponderLivesOn() throws {
        let responder = makeResponder()
        let failed = responder.respond(to: request("GET", "/boom"))
        XCTAssertEqual(failed.status, 500)
        XCTAssertEqual(try problem(failed)["type"] as? String, "urn:controlplane:problem:internal-error")
        XCTAssertEqual(responder.respond(to: request("GET", "/items/7")).status, 200)
    }

    func testDatabaseAwayGives503WithRetryAfter() throws {
        let response = makeResponder().respond(to: request("GET", "/db"))
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.headers["retry-after"], "1")
        XCTAssertEqual(try problem(response)["type"] as? String, "urn:controlplane:problem:database-unavailable")
    }

    func testProblemBodyEscapesText() throws {
        let error = Problem(422, type: .validationFailed, detail: "a \"quote\"\n", invalidParams: [.init(name: "f\"", reason: "r")])
        let response = ProblemResponse.response(for: error, traceId: "t")
        let p = try problem(response)
        XCTAssertEqual(p["detail"] as? String, "a \"quote\"\n")
        XCTAssertEqual((p["invalidParams"] as? [[String: String]])?.first?["name"], "f\"")
    }
}

/// Settings read from systemd credentials, as the units load them.
final class ApplicationSettingsTests: XCTestCase {
    func testDatabasePasswordAndHashKeyComeFromTheCredentialsDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("credentials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "s3cret-db\n".write(to: directory.appendingPathComponent("controlplane-database-password"), atomically: true, encoding: .utf8)
        try "a-hash-key-of-enough-length".write(to: directory.appendingPathComponent("controlplane-hash-key"), atomically: true, encoding: .utf8)
        let settings = try ApplicationSettings(environment: Environment([
            "DATABASE_URL": "postgresql:///controlplane", "CREDENTIALS_DIRECTORY": directory.path,
        ]))
        XCTAssertEqual(settings.databaseOptions.password, "s3cret-db")
        XCTAssertEqual(settings.hashKey, Array("a-hash-key-of-enough-length".utf8))
        // An empty credential file means "not used" (e.g. peer authentication).
        try "".write(to: directory.appendingPathComponent("controlplane-database-password"), atomically: true, encoding: .utf8)
        XCTAssertNil(try ApplicationSettings(environment: Environment([
            "DATABASE_URL": "postgresql:///controlplane", "CREDENTIALS_DIRECTORY": directory.path,
        ])).databaseOptions.password)
    }
}
