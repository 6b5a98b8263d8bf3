import Foundation

/// RFC 3339 date-time syntax (the database then checks the calendar).
public enum RFC3339 {
    /// PostgreSQL's UTC `timestamptz` text (`2026-11-21 19:58:18.123456+00`) to the second,
    /// as RFC 3339 (`2026-11-21T19:58:18Z`), for text output such as cpctl's tables.
    public static func seconds(postgresText text: String) -> String {
        guard text.utf8.count >= 19 else { return text }
        return String(text.prefix(10)) + "T" + String(text.dropFirst(11).prefix(8)) + "Z"
    }

    /// A moment as RFC 3339 UTC to the second (`2026-11-21T19:58:18Z`), as forms prefill it.
    public static func format(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down)), parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// A valid RFC 3339 date-time as microseconds since 1970 (UTC), rounded to the nearest
    /// microsecond as PostgreSQL rounds `timestamptz` input; nil when not valid.
    public static func microseconds(_ text: String) -> Int64? {
        guard isValid(text) else { return nil }
        let b = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int { b[range].reduce(0) { $0 * 10 + Int($1 - 48) } }
        var parts = tm()
        parts.tm_year = Int32(number(0..<4) - 1900); parts.tm_mon = Int32(number(5..<7) - 1); parts.tm_mday = Int32(number(8..<10))
        parts.tm_hour = Int32(number(11..<13)); parts.tm_min = Int32(number(14..<16)); parts.tm_sec = Int32(number(17..<19))
        var micros = Int64(timegm(&parts)) * 1_000_000
        var i = 19
        if b[i] == 46 {
            i += 1
            var fraction = 0, digits = 0
            while i < b.count && b[i] >= 48 && b[i] <= 57 { fraction = fraction * 10 + Int(b[i] - 48); digits += 1; i += 1 }
            var scale = 1
            for _ in 0..<(9 - digits) { scale *= 10 }
            micros += Int64((fraction * scale + 500) / 1000)  // nanoseconds, rounded to microseconds
        }
        if b[i] == 43 || b[i] == 45 {
            let offset = Int64(number((i + 1)..<(i + 3)) * 3600 + number((i + 4)..<(i + 6)) * 60) * 1_000_000
            micros += b[i] == 43 ? -offset : offset
        }
        return micros
    }

    public static func isValid(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func digits(_ range: Range<Int>) -> Bool { range.upperBound <= b.count && b[range].allSatisfy { $0 >= 48 && $0 <= 57 } }
        guard b.count >= 20, b.count <= 35, digits(0..<4), b[4] == 45, digits(5..<7), b[7] == 45, digits(8..<10),
              b[10] == 84 || b[10] == 116, digits(11..<13), b[13] == 58, digits(14..<16), b[16] == 58, digits(17..<19) else {
            return false
        }
        func number(_ range: Range<Int>) -> Int { b[range].reduce(0) { $0 * 10 + Int($1 - 48) } }
        // RFC 3339 §5.6: month 01–12, day 01–31, hour 00–23, minute 00–59, second 00–60.
        guard (1...12).contains(number(5..<7)), (1...31).contains(number(8..<10)), number(11..<13) <= 23,
              number(14..<16) <= 59, number(17..<19) <= 60 else { return false }
        var i = 19
        if i < b.count && b[i] == 46 {
            i += 1
            let start = i
            while i < b.count && b[i] >= 48 && b[i] <= 57 { i += 1 }
            if i == start || i - start > 9 { return false }
        }
        if i < b.count && (b[i] == 90 || b[i] == 122) { return i + 1 == b.count }
        guard i + 6 == b.count, b[i] == 43 || b[i] == 45, digits((i + 1)..<(i + 3)), b[i + 3] == 58, digits((i + 4)..<(i + 6)),
              number((i + 1)..<(i + 3)) <= 23, number((i + 4)..<(i + 6)) <= 59 else {
            return false
        }
        return true
    }
}
