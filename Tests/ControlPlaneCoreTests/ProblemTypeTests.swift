@testable import ControlPlaneCore
import Foundation
import Postgres
import XCTest

final class ProblemTypeTests: XCTestCase {
    /// openapi/controlplane.yaml lists exactly the problem types served: the backend's
    /// enum plus nginx's own.
    func testOpenAPIListsEveryProblemType() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: repo.appendingPathComponent("openapi/controlplane.yaml"), encoding: .utf8)
        guard let start = text.range(of: "    Problem:\n") else { return XCTFail("no Problem schema") }
        let schema = text[start.upperBound...].prefix(4000)
        var listed = Set<String>()
        for line in schema.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- '"), trimmed.hasSuffix("'") { listed.insert(String(trimmed.dropFirst(3).dropLast())) }
        }
        let served = Set(ProblemType.allCases.map(\.uri) + ProblemType.answeredByNginx)
        XCTAssertEqual(listed.subtracting(served).sorted(), [], "listed in openapi but never served")
        XCTAssertEqual(served.subtracting(listed).sorted(), [], "served but missing from openapi")
    }

    func testDatabaseErrorsMapToTheirProblems() {
        func problem(_ kind: PostgresError.Kind) -> Problem {
            PostgresError(kind: kind, sqlState: nil, serverMessage: "secret value 42").problem
        }
        XCTAssertEqual(problem(.connectionUnavailable).status, 503)
        XCTAssertEqual(problem(.connectionUnavailable).type, .databaseUnavailable)
        XCTAssertEqual(problem(.queryCanceled).type, .deadlineExceeded)
        XCTAssertEqual(problem(.uniqueViolation).status, 409)
        XCTAssertEqual(problem(.invalidTextRepresentation).status, 400)
        XCTAssertEqual(problem(.deadlockDetected).type, .contention)
        XCTAssertEqual(problem(.syntaxError).status, 500)
        // The server's message (which may carry values) never reaches the client.
        for kind in [PostgresError.Kind.uniqueViolation, .syntaxError, .invalidTextRepresentation] {
            XCTAssertFalse((problem(kind).detail ?? "").contains("42"))
        }
    }

    func testCursorRoundTripsAndRefusesForgeries() {
        let cursor = PageCursor("2026-12-01 21:08:52.491269+00", "0f86d70b-dede-43b0-af24-688531a7ed54")
        XCTAssertEqual(PageCursor(encoded: cursor.encoded, parts: 2), cursor)
        XCTAssertNil(PageCursor(encoded: cursor.encoded, parts: 1))
        XCTAssertNil(PageCursor(encoded: "not base64!", parts: 1))
        XCTAssertNil(PageCursor(encoded: String(repeating: "A", count: 2000), parts: 1))
    }
}
