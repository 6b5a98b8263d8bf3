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
            "us\u{200B}er@acme.com", "user@☃.com", "user@acme.com@", "user@@", "@", "@@",
            "user@.", "user@..", "a@b", "a@b.", "a@.b", "🙂@acme.com", "user@acme.co m", "user@acme.com ,x",
            String(repeating: "x", count: 2000) + "@acme.com",
        ]
        for address in invalid {
            XCTAssertEqual(kind(address), .invalid, address.debugDescription)
            XCTAssertEqual(EmailClassifier.classify(address, table: table).next, .reject)
        }
    }

    /// UTS 46 through libidn2: width, case and compatibility forms of a listed domain classify
    /// like it, so the dictionary cannot be walked past with look-alike spellings.
    func testCompatibilityAndFullwidthFormsClassifyLikeTheListedDomain() {
        XCTAssertEqual(kind("a@ＧＭＡＩＬ.com"), .free)
        XCTAssertEqual(EmailClassifier.classify("a@ＧＭＡＩＬ.com", table: table).domain, "gmail.com")
        XCTAssertEqual(kind("a@gmail．com"), .free)                  // fullwidth full stop
        XCTAssertEqual(kind("a@ｍａｉｌｉｎａｔｏｒ.ｃｏｍ"), .disposable)
        XCTAssertEqual(kind("a@x.ｍａｉｌｉｎａｔｏｒ.com"), .disposable)
        XCTAssertEqual(kind("a@ｅｖｉｌ.example"), .blocked)
        XCTAssertEqual(kind("a@gma\u{200B}il.com"), .free)           // ZERO WIDTH SPACE is ignored by UTS 46
    }

    func testIDNA2008ValidityRulesRefuse() {
        for (address, why) in [
            ("a@xn--0.com", "an A-label that does not decode"),
            ("a@xn--a.com", "an A-label of nothing but ASCII"),
            ("a@xn--bcher-kva.xn--0", "an invalid A-label as the top level"),
            ("a@ab--cd.com", "-- in positions 3-4 outside xn--"),
            ("a@ab--.com", "a label ending in a hyphen"),
            ("a@⒈.com", "a compatibility character that maps to a dot (STD3)"),
            ("a@a\u{200D}b.com", "ZERO WIDTH JOINER outside its CONTEXTJ rule"),
            ("a@\u{05D0}a.com", "a bidi label mixing RTL and LTR"),
            ("a@1\u{05D0}.com", "a bidi label starting with a digit"),
            ("a@acme.c0m", "a top level neither letters nor an A-label"),
            ("a@acme.co-m", "a top level with a hyphen"),
            ("a@\u{0301}acme.com", "a label starting with a combining mark"),
            ("a@🙂.com", "an emoji (disallowed in IDNA2008)"),
            ("a@ac\u{00A0}mé.com", "a no-break space (STD3: maps to a space)"),
            ("a@ac_mé.com", "an underscore beside a non-ASCII letter"),
        ] {
            XCTAssertEqual(kind(address), .invalid, "\(address.debugDescription): \(why)")
        }
        for (address, domain) in [
            ("a@xn--bcher-kva.de", "xn--bcher-kva.de"), ("a@XN--BCHER-KVA.DE", "xn--bcher-kva.de"),
            ("a@acme.xn--p1ai", "acme.xn--p1ai"), ("a@\u{05D0}\u{05D1}.com", "xn--4dbc.com"), ("a@faß.de", "xn--fa-hia.de"),
        ] {
            XCTAssertEqual(EmailClassifier.classify(address, table: table).domain, domain, address)
        }
    }

    func testLengthsCountOctetsAfterConversion() {
        let label = String(repeating: "ü", count: 20)
        XCTAssertNotEqual(kind("a@\(label).de"), .invalid)
        let long = String(repeating: "ü", count: 60)  // 60 characters, an A-label far over 63 octets
        XCTAssertEqual(kind("a@\(long).de"), .invalid)
        let domain = (0..<4).map { _ in "ü" + String(repeating: "c", count: 55) }.joined(separator: ".") + ".de"
        XCTAssertLessThan(domain.count, 253)
        XCTAssertEqual(kind("a@\(domain)"), .invalid)  // under 253 characters, over 253 octets converted
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
