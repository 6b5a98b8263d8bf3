@testable import ControlPlaneCore
import XCTest

/// The classifier over a large table of addresses: syntax edge cases (length, dots,
/// quoting, IDN, Unicode local parts, whitespace, control characters) and dictionary rules.
final class EmailClassifierTests: XCTestCase {
    let table = DomainTable([
        ("gmail.com", .free), ("yahoo.co.kr", .free), ("naver.com", .free), ("daum.net", .free), ("hanmail.net", .free),
        ("mailinator.com", .disposable), ("guerrillamail.com", .disposable), ("evil.example", .blocked),
        ("corp.gmail.com", .allowed), ("blocked-tld", .blocked),
    ])

    func kind(_ address: String) -> EmailClassification.Kind { EmailClassifier.classify(address, table: table).classification }

    func testValidAddresses() {
        let valid = [
            "a@b.co", "john.doe@acme.com", "JOHN.DOE@ACME.COM", "x+tag@acme.com", "o'brien@acme.ie", "a-b_c@acme.io",
            "first.middle.last@sub.acme.co.uk", "user@acme.com.", " user@acme.com ", "#!$%&'*+-/=?^_`{}|~@acme.org",
            "1234567890@acme.com", "a@a1.io", "a@xn--bcher-kva.de", "a@bücher.de", "a@BÜCHER.de", "a@münchen.de",
            "a@例え.jp", "a@пример.рф", "a@도메인.한국", "用户@例子.广告", "пользователь@пример.рф", "josé@acme.es",
            "ü@acme.com", "a@acme.museum", "a@x-y.com", "a@a.b.c.d.e.f.acme.com",
            String(repeating: "a", count: 64) + "@acme.com",
            "a@" + String(repeating: "b", count: 63) + ".com",
            "a@" + (0..<4).map { _ in String(repeating: "c", count: 60) }.joined(separator: ".") + ".io",
            "user@acme。com", "a@acme.co.kr", "abc.def@mail.acme.com", "_@acme.com", "-@acme.com", "a.b.c@acme.com",
        ]
        for address in valid {
            XCTAssertNotEqual(kind(address), .invalid, address)
        }
        XCTAssertEqual(EmailClassifier.classify("a@bücher.de", table: table).domain, "xn--bcher-kva.de")
        XCTAssertEqual(EmailClassifier.classify("a@BÜCHER.de", table: table).domain, "xn--bcher-kva.de")
        XCTAssertEqual(EmailClassifier.classify("a@münchen.de", table: table).domain, "xn--mnchen-3ya.de")
        XCTAssertEqual(EmailClassifier.classify("a@пример.рф", table: table).domain, "xn--e1afmkfd.xn--p1ai")
        XCTAssertEqual(EmailClassifier.classify("a@例え.jp", table: table).domain, "xn--r8jz45g.jp")
        XCTAssertEqual(EmailClassifier.classify("user@acme.com.", table: table).domain, "acme.com")
        // NFC: a decomposed é, the Angstrom sign and conjoining jamo normalize like their composed forms.
        XCTAssertEqual(EmailClassifier.classify("a@cafe\u{301}.fr", table: table).domain, EmailClassifier.classify("a@café.fr", table: table).domain)
        XCTAssertEqual(EmailClassifier.classify("a@\u{212B}ngstrom.se", table: table).domain, EmailClassifier.classify("a@\u{C5}ngstrom.se", table: table).domain)
        XCTAssertEqual(EmailClassifier.classify("a@\u{1112}\u{1161}\u{11AB}.kr", table: table).domain, EmailClassifier.classify("a@한.kr", table: table).domain)
        XCTAssertEqual(EmailClassifier.classify("JOHN@ACME.COM", table: table).address, "JOHN@acme.com")
    }

    func testInvalidAddresses() {
        let invalid = [
            "", " ", "plainaddress", "@acme.com", "user@", "user@@acme.com", "a@b@acme.com", "\"quoted\"@acme.com",
            "\"a b\"@acme.com", ".user@acme.com", "user.@acme.com", "us..er@acme.com", "user@acme", "user@localhost",
            "user@acme..com", "user@.acme.com", "user@-acme.com", "user@acme-.com", "user@acme.123", "user@[127.0.0.1]",
            "user@[IPv6:::1]", "user name@acme.com", "user@acme .com", "user\t@acme.com", "user\n@acme.com",
            "user@acme.com\n", "us\u{0}er@acme.com", "user@acme.com\u{0}", "us\u{7F}er@acme.com", "user@ac_me.com",
            "user@acme.test", "user@acme.invalid", "user@acme.local", "user@acme.onion", "user@in-addr.arpa",
            "user@acme.localhost", String(repeating: "a", count: 65) + "@acme.com",
            "a@" + String(repeating: "b", count: 64) + ".com",
            "a@" + (0..<5).map { _ in String(repeating: "c", count: 60) }.joined(separator: ".") + ".io",
            String(repeating: "a", count: 64) + "@" + (0..<4).map { _ in String(repeating: "c", count: 50) }.joined(separator: ".") + ".io",  // 271 octets in all
            "user(comment)@acme.com", "user@acme.com(comment)", "<user@acme.com>", "user,other@acme.com", "user;@acme.com",
            "user:x@acme.com", "user[x]@acme.com", "user\\x@acme.com", "us\u{00A0}er@acme.com", "user@ac\u{00A0}me.com",
            "us\u{200B}er@acme.com", "user@acme.c\u{200B}om", "user@☃.com", "user@acme.com@", "user@@", "@", "@@",
            "user@.", "user@..", "a@b", "a@b.", "a@.b", "🙂@acme.com", "user@acme.co m", "user@acme.com ,x",
            String(repeating: "x", count: 2000) + "@acme.com",
        ]
        for address in invalid {
            XCTAssertEqual(kind(address), .invalid, address.debugDescription)
            XCTAssertEqual(EmailClassifier.classify(address, table: table).next, .reject)
        }
    }

    func testDictionaryRulesIncludingSubdomains() {
        XCTAssertEqual(kind("a@gmail.com"), .free)
        XCTAssertEqual(kind("a@GMAIL.COM"), .free)
        XCTAssertEqual(kind("a@gmail.com."), .free)
        XCTAssertEqual(kind("a@mail.yahoo.co.kr"), .free)        // subdomain of a listed domain
        XCTAssertEqual(kind("a@yahoo.co.kr"), .free)
        XCTAssertEqual(kind("a@co.kr"), .work)                   // a parent of a listed domain is not listed
        XCTAssertEqual(kind("a@notgmail.com"), .work)            // suffix match is by label, not by text
        XCTAssertEqual(kind("a@naver.com"), .free)
        XCTAssertEqual(kind("a@hanmail.net"), .free)
        XCTAssertEqual(kind("a@x.mailinator.com"), .disposable)
        XCTAssertEqual(kind("a@evil.example"), .blocked)
        XCTAssertEqual(kind("a@corp.gmail.com"), .work)          // an allow override beats the listed parent
        XCTAssertEqual(kind("a@team.corp.gmail.com"), .work)
        XCTAssertEqual(kind("a@acme.com"), .work)
        let free = EmailClassifier.classify("a@gmail.com", table: table)
        XCTAssertEqual(free.next, .manualApproval)
        XCTAssertEqual(EmailClassifier.classify("a@acme.com", table: table).next, .selfServe)
        XCTAssertEqual(EmailClassifier.classify("a@mailinator.com", table: table).next, .reject)
        XCTAssertEqual(EmailClassifier.existingTenant(EmailClassifier.classify("a@acme.com", table: table)).classification, .existingTenant)
    }

    func testGeneratedLengthBoundaries() {
        for n in 1...70 {
            let address = String(repeating: "l", count: n) + "@acme.com"
            XCTAssertEqual(kind(address) == .invalid, n > 64, "local length \(n)")
        }
        for n in 1...70 {
            let address = "a@" + String(repeating: "d", count: n) + ".com"
            XCTAssertEqual(kind(address) == .invalid, n > 63, "label length \(n)")
        }
        for dots in ["a.b", "a..b", ".a", "a.", "a.b.c", "a...b"] {
            XCTAssertEqual(kind(dots + "@acme.com") == .invalid, dots.contains("..") || dots.hasPrefix(".") || dots.hasSuffix("."), dots)
        }
    }

    func testPunycodeRFC3492Samples() {
        XCTAssertEqual(Punycode.toASCII(label: "bücher"), "xn--bcher-kva")
        XCTAssertEqual(Punycode.toASCII(label: "münchen"), "xn--mnchen-3ya")
        XCTAssertEqual(Punycode.toASCII(label: "例え"), "xn--r8jz45g")
        XCTAssertEqual(Punycode.toASCII(label: "도메인"), "xn--hq1bm8jm9l")
        XCTAssertEqual(Punycode.toASCII(label: "ascii"), "ascii")
        // RFC 3492 §7.1 (B) Chinese (simplified).
        XCTAssertEqual(Punycode.encode(Array("他们为什么不说中文".unicodeScalars)), "ihqwcrb4cv8a8dqg056pqjye")
        // (L) Japanese: 3年B組金八先生.
        XCTAssertEqual(Punycode.encode(Array("3年B組金八先生".unicodeScalars)), "3B-ww4c5e180e575a65lsy2b")
    }

    func testDomainTableMatchesExactlyAndByParent() {
        var domains: [(String, DomainKind)] = []
        for i in 0..<10_000 { domains.append(("d\(i).example.com", i % 2 == 0 ? .free : .disposable)) }
        let big = DomainTable(domains)
        XCTAssertEqual(big.count, 10_000)
        XCTAssertEqual(big.kind(of: "d42.example.com"), .free)
        XCTAssertEqual(big.kind(of: "d43.example.com"), .disposable)
        XCTAssertNil(big.kind(of: "d10000.example.com"))
        XCTAssertNil(big.kind(of: "example.com"))
        var probe = "x.y.d7.example.com"
        XCTAssertEqual(probe.withUTF8 { big.match($0)?.kind }, .disposable)
        let replaced = DomainTable([("a.com", .free), ("a.com", .blocked)])
        XCTAssertEqual(replaced.kind(of: "a.com"), .blocked)
        XCTAssertEqual(replaced.count, 1)
    }
}
