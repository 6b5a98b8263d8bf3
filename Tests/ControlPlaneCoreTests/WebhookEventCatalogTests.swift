@testable import ControlPlaneCore
import Foundation
import XCTest

/// The catalog's schemas are JSON, one entry per event type a receiver can get.
final class WebhookEventCatalogTests: XCTestCase {
    func testEverySchemaIsJSONAndEveryEventTypeIsListedOnce() throws {
        let types = WebhookEventCatalog.entries.map(\.type)
        XCTAssertEqual(Set(types).count, types.count)
        XCTAssertEqual(Set(types), Set(TenantEvents.all + WebhookOperationalEvents.all + ["webhook.test"]))
        for entry in WebhookEventCatalog.entries {
            let schema = try JSONSerialization.jsonObject(with: Data(WebhookEventCatalog.messageSchema(entry).utf8)) as? [String: Any]
            let type = (schema?["properties"] as? [String: Any])?["type"] as? [String: Any]
            XCTAssertEqual(type?["const"] as? String, entry.type)
        }
    }
}
