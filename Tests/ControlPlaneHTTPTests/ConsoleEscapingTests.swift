import XCTest
@testable import ControlPlaneHTTP

/// The console's byte-level HTML escaper escapes what swift-mustache's own does, nothing
/// less, whatever the script; and every page template is compiled with it.
final class ConsoleEscapingTests: XCTestCase {
    func testEscapesTheFiveCharactersAndLeavesEverythingElse() {
        let escape = ConsoleTemplates.HTMLBytes().escapeText
        XCTAssertEqual(escape(#"<script>alert("x")</script>"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;")
        XCTAssertEqual(escape(#"a & b's "c" > d"#), "a &amp; b&#39;s &quot;c&quot; &gt; d")
        XCTAssertEqual(escape("Ünïcödé 東京 👩‍💻 <b>"), "Ünïcödé 東京 👩‍💻 &lt;b&gt;")
        XCTAssertEqual(escape("plain text"), "plain text")
        XCTAssertEqual(escape(""), "")
    }

    func testAPageRendersValuesEscaped() {
        let html = ConsoleTemplates.library.render(["text": "<img src=x onerror=alert(1)>"], withTemplate: "message")
        XCTAssertEqual(html, "<p>&lt;img src=x onerror=alert(1)&gt;</p>")
    }
}
