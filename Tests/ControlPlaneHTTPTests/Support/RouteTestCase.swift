import XCTest

/// A test class with its own `TestApplication` (scratch database), made once for the class.
/// Without the test cluster the tests are skipped, and `make test` counts a skip as a failure.
class RouteTestCase: XCTestCase {
    nonisolated(unsafe) private static var applications: [ObjectIdentifier: TestApplication] = [:]

    var app: TestApplication { Self.applications[ObjectIdentifier(Self.self)]! }

    override class func setUp() {
        super.setUp()
        applications[ObjectIdentifier(self)] = try? TestApplication(prefix: String(describing: self).lowercased())
    }

    override func setUpWithError() throws {
        guard Self.applications[ObjectIdentifier(Self.self)] != nil else {
            throw XCTSkip("needs the test cluster's CONTROLPLANE_ADMIN_DATABASE_URL: run make test")
        }
    }

    override class func tearDown() {
        applications[ObjectIdentifier(self)] = nil
        super.tearDown()
    }
}
