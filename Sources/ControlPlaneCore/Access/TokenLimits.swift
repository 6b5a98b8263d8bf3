import Foundation

/// A service token's request rate: `count` requests per `windowSeconds` (1 or 60), written
/// `5/s` or `300/min`.
public struct TokenRate: Sendable, Equatable, CustomStringConvertible {
    public let count: Int
    public let windowSeconds: Int

    public init?(count: Int, windowSeconds: Int) {
        guard (1...1_000_000).contains(count), windowSeconds == 1 || windowSeconds == 60 else { return nil }
        self.count = count
        self.windowSeconds = windowSeconds
    }

    /// `N/s` or `N/min` (also `N/sec`, `N/m`).
    public init?(_ text: String) {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]) else { return nil }
        switch parts[1] {
        case "s", "sec", "second": self.init(count: count, windowSeconds: 1)
        case "m", "min", "minute": self.init(count: count, windowSeconds: 60)
        default: return nil
        }
    }

    public var description: String { "\(count)/\(windowSeconds == 1 ? "s" : "min")" }

    /// Requests per second, as the bucket refills.
    public var perSecond: Double { Double(count) / Double(windowSeconds) }
}

/// What limits a service token: a rate (enforced per backend process, in memory) and a daily
/// quota (UTC days, shared by every process and host through PostgreSQL). Nil: no limit.
public struct TokenLimits: Sendable, Equatable {
    public var rate: TokenRate?
    public var dailyQuota: Int?

    public init(rate: TokenRate? = nil, dailyQuota: Int? = nil) {
        self.rate = rate
        self.dailyQuota = dailyQuota
    }

    public static let maxDailyQuota = 1_000_000_000_000

    public var isUnlimited: Bool { rate == nil && dailyQuota == nil }

    /// Limits as operators type them (cpctl's flags, the console's fields): a rate `N/s` or
    /// `N/min`, a daily quota; nil or blank leaves a limit as in `current`, `none` removes it.
    public static func parse(rate: String?, dailyQuota: String?, keeping current: TokenLimits = TokenLimits()) throws -> TokenLimits {
        var limits = current, problems: [Problem.InvalidParam] = []
        switch rate?.trimmingCharacters(in: .whitespaces) {
        case nil, "": break
        case "none": limits.rate = nil
        case let text?:
            if let parsed = TokenRate(text) { limits.rate = parsed } else {
                problems.append(.init(name: "rate-limit", reason: "is N/s or N/min with N from 1 to 1000000, or none"))
            }
        }
        switch dailyQuota?.trimmingCharacters(in: .whitespaces) {
        case nil, "": break
        case "none": limits.dailyQuota = nil
        case let text?:
            if let quota = Int(text), (1...maxDailyQuota).contains(quota) { limits.dailyQuota = quota } else {
                problems.append(.init(name: "daily-quota", reason: "is a whole number from 1 to \(maxDailyQuota), or none"))
            }
        }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        return limits
    }

    /// `rate 5/s, daily quota 1000`, or `no limits`.
    public var summary: String {
        let parts = [rate.map { "rate \($0)" }, dailyQuota.map { "daily quota \($0)" }].compactMap { $0 }
        return parts.isEmpty ? "no limits" : parts.joined(separator: ", ")
    }
}

/// Durations as operators type them: `90s`, `15m`, `12h`, `30d`, `2w`.
public enum DurationText {
    public static func seconds(_ text: String) -> Int? {
        guard let unit = text.last, let number = Int(text.dropLast()), number > 0 else { return nil }
        let scale: Int
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        case "d": scale = 86_400
        case "w": scale = 604_800
        default: return nil
        }
        let (product, overflow) = number.multipliedReportingOverflow(by: scale)
        return overflow || product > 10 * 365 * 86_400 ? nil : product  // at most ten years
    }
}
