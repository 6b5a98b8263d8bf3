"""Internationalized domains for the comparison of the email check's domain normalization
with the PyPI `idna` package (UTS 46, non-transitional, STD3): each line of CORPUS is one
domain, grouped by what it exercises. Assembled here by hand and by small combinations."""

WORDS = {
    "latin": ["bücher", "münchen", "café", "españa", "straße", "ñandú", "ærø", "łódź", "şişli", "čeština", "ångström"],
    "greek": ["ελλάδα", "παράδειγμα", "δοκιμή", "σίσυφος"],
    "cyrillic": ["пример", "россия", "україна", "испытание", "београд", "мкд"],
    "arabic": ["مثال", "السعودية", "مصر", "إختبار", "پاکستان"],
    "hebrew": ["בדיקה", "ישראל", "דוגמה"],
    "devanagari": ["उदाहरण", "परीक्षा", "भारत"],
    "thai": ["ตัวอย่าง", "ไทย"],
    "cjk": ["例え", "中国", "测试", "台灣", "香港", "公司", "網絡"],
    "hangul": ["도메인", "한국", "테스트", "실험"],
    "kana": ["テスト", "ドメイン名例", "ひらがな"],
    "other": ["ქართული", "հայաստան", "ኢትዮጵያ", "ᏣᎳᎩ", "ລາວ", "ශ්‍රී", "தமிழ்", "ಕನ್ನಡ", "മലയാളം", "বাংলা"],
}
TLDS = ["com", "de", "jp", "xn--p1ai", "рф", "中国", "한국", "org", "io", "kr"]


def _combinations():
    out = []
    for group, words in WORDS.items():
        for i, word in enumerate(words):
            out.append(f"{word}.{TLDS[i % len(TLDS)]}")
            out.append(f"mail.{word}.com")
            out.append(f"{word.upper()}.net")
    return out


FULLWIDTH = [
    "ＧＭＡＩＬ.com", "ｇｍａｉｌ.ｃｏｍ", "ＧＭＡＩＬ．ＣＯＭ", "ｍａｉｌｉｎａｔｏｒ.com", "ｙａｈｏｏ.co.kr", "ＮＡＶＥＲ.com",
    "ｈａｎｍａｉｌ.net", "ｅｘａｍｐｌｅ｡com", "acme。com", "acme．org", "ａｃｍｅ.ｃｏ.ｕｋ", "ｏｕｔｌｏｏｋ.com",
    "ｐｒｏｔｏｎ.me", "１２３.com", "ａ１ｂ２.io", "ｘｎ--ｂｃｈｅｒ-ｋｖａ.de", "ＡＣＭＥ－ＣＯＲＰ.com", "ｇｍａｉｌ.ｃｏｍ｡",
]
COMPATIBILITY = [
    "⒈.com", "a⒈com", "℡.com", "㈱.jp", "ﬁnance.com", "½.com", "ℌello.com", "Ⅻ.com", "ⓐⓑⓒ.com", "ℂ.org", "ｶﾀｶﾅ.jp",
    "㍻.jp", "ﾃｽﾄ.jp", "µ.com", "ℓ.com", "ǅ.com", "ſ.com", "ℯxample.com", "𝐞𝐱𝐚𝐦𝐩𝐥𝐞.com", "①②.com", "™.com", "¹.com",
    "ᴬ.com", "ℵ.com", "Ω.com", "K.com", "Å.com",
]
BIDI = [
    "\u05d0\u05d1.com", "\u05d0a.com", "a\u05d0.com", "1\u05d0.com", "\u05d01.com", "\u05d0\u05d1-\u05d2.com", "\u0627\u0628.com",
    "\u0627\u0661.com", "\u0627\u06f1.com", "\u0627\u0661\u06f1.com", "\u0661\u0627.com", "\u05d0.\u0627.com", "a.\u05d0\u05d1",
    "\u05d0\u05d1.a1.com", "\u05d0\u0300\u05d1.com", "\u0627\u064b.com", "\u05d0\u05b0.com", "a\u0627b.com",
    "\u05d0\u05d1\u05d2.\u05d3\u05d4", "\u200f\u05d0.com", "\u05d0\u200e.com",
]
JOINERS = [
    "a\u200db.com", "a\u200cb.com", "\u0915\u094d\u200d\u0937.com", "\u0915\u094d\u200c\u0937.com", "\u0628\u200c\u0628.com",
    "\u200d.com", "\u200c.com", "a\u200c.com", "\u0644\u200c\u0627.com", "\u0dc1\u0dca\u200d\u0dbb\u0dd3.com",
    "ab\u00b7cd.com", "l\u00b7l.cat", "a\u0375\u03b1.gr", "\u0375\u03b1.gr", "\u05d0\u05f3.com", "\u05f3.com", "\u30fb\u30c6.jp",
    "\u30c6\u30fb\u30c6.jp", "a\u30fb.jp", "\u0660\u06f0.com", "\u0627\u0660\u06f0.com",
]
EMOJI = ["🙂.com", "i❤.ws", "☃.com", "💩.la", "👍.tk", "🍕.to", "a🙂b.com", "⌘.ws", "✈.com", "★.com", "♥.com", "☺.com",
         "🇰🇷.com", "1️⃣.com", "🏳️‍🌈.com"]
ALABELS = [
    "xn--0.com", "xn--a.com", "xn--.com", "xn--bcher-kva.de", "XN--BCHER-KVA.DE", "xn--Bcher-kva.de", "xn--bcher-kva.xn--0",
    "xn--bcher-kva-.de", "xn---bcher-kva.de", "xn--zca.com", "xn--ss-fia.com", "xn--nxasmq6b.com", "xn--nxasmm1c.com",
    "xn--e1afmkfd.xn--p1ai", "xn--r8jz45g.jp", "xn--4dbc.com", "xn--ls8h.la", "xn--n3h.com", "xn--80a.com",
    "xn--mnchen-3ya.de", "xn--mnchen-3yA.de", "xn--abc-.com", "xn--99999999999999.com", "xn--a-ecp.ru", "xn--zz.com",
    "xn--d1acufc.xn--p1ai", "xn--fiqs8s.com", "xn--wgv71a.com", "xn--3e0b707e.com", "xn--kgbechtv.com",
]
MIXED = ["pаypal.com", "аpple.com", "gооgle.com", "micrоsоft.com", "ÿαω.com", "aб.com", "中a.com", "한a1.kr", "テa.jp",
         "αβc.gr", "ᏣLa.com", "אa1.com", "café中.com", "münchen-東京.de", "пример-test.com"]
HYPHENS = ["ab--cd.com", "ab--.com", "-ab.com", "ab-.com", "a-b.com", "üb--cd.com", "-üb.com", "üb-.com", "ü-b.com",
           "aa--bü.com", "ab-ü.com", "xn--ab-ü.com", "a--b.com", "abc--d.com", "ü--.com"]
DOTS = ["acme.com.", "acme..com", ".acme.com", "acme。com。", "bücher.de.", "bücher..de", "a.b.c.d.ü.com", "ü。ü。com",
        "acme｡com", "a．b．com"]
LONG = [
    "ü" * 20 + ".de", "ü" * 30 + ".de", "ü" * 56 + ".de", "ü" * 57 + ".de", "ü" * 60 + ".de",
    "a" * 63 + ".com", "a" * 64 + ".com", "a" * 62 + "ü.com", "a" * 57 + "ü.com", "a" * 58 + "ü.com",
    ".".join(["ü" + "c" * 55] * 4) + ".de", ".".join(["ü" + "c" * 40] * 5) + ".de", ".".join(["c" * 63] * 3) + ".com",
    ".".join(["c" * 63] * 4) + ".com", "中" * 20 + ".cn", "中" * 25 + ".cn", "한" * 18 + ".kr", "한" * 19 + ".kr",
]
SPECIAL = [
    "straße.de", "faß.de", "ß.com", "ς.gr", "σς.gr", "ΣΣ.gr", "ﬆ.com", "a\u00adb.com", "a\u200bb.com", "a\ufe0fb.com",
    "a\u034fb.com", "gma\u200bil.com", "a\u2060b.com", "a\ufeffb.com", "a\u180bb.com", "İstanbul.com", "ı.com", "ǰ.com",
    "ŉ.com", "ⅰ.com", "\u0301a.com", "a\u0301.com", "e\u0301.com", "é.com", "\u1100\u1161.kr", "\u212b.se", "Å.se",
    "a b.com", "a\u00a0b.com", "a_b.com", "a@b.com", "a/b.com", "a\u3000b.com", "a\u2028b.com", "ａ＿ｂ.com",
]

CORPUS = (_combinations() + FULLWIDTH + COMPATIBILITY + BIDI + JOINERS + EMOJI + ALABELS + MIXED + HYPHENS + DOTS + LONG
          + SPECIAL)
