import Foundation

/// Says when a periodic report is due (the first call is due at once).
final class ProgressClock: @unchecked Sendable {
    private let interval: Double
    private var last: Date?

    init(intervalSeconds: Double) { interval = intervalSeconds }

    func due(now: Date = Date()) -> Bool {
        if let last, now.timeIntervalSince(last) < interval { return false }
        last = now
        return true
    }
}
