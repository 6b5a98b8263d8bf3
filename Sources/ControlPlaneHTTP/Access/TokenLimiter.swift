import ControlPlaneCore
import FastCGI
import Foundation
import Locking

/// Per-token limits in one backend process, shared by its worker threads.
///
/// - The rate is a token bucket per token name (capacity: the limit's count, refilled evenly
///   over its window), checked in memory: no database round trip per request.
/// - The daily quota is reserved from `service_token_usage` in chunks (at most 256, and at most
///   a sixteenth of what is left, so the last requests of a day reserve one at a time); a
///   request is admitted only from this process's reservation, so every process and host
///   together never admit more than the quota. Once the quota is found spent, later requests
///   are refused without asking again until the day or the quota changes. A reservation a process does not spend (it
///   stops, or the day ends) is lost: the worst case is each process's last chunk.
/// - Requests and refusals are counted here and flushed to `service_token_usage` every second
///   by `TokenUsageFlusher`, with `last_used_at` at most once a minute per token.
///
/// Limits are keyed by token name, so a rolled token and its successor share them.
public final class TokenLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var at: UInt64
        var rate: TokenRate
    }

    /// This process's unspent reservation of a name's quota for one UTC day.
    struct Allowance {
        var day: Int
        var left = 0
        /// The quota reserved by every process together, as of the last reservation.
        var reservedEverywhere = 0
        /// The quota that was found spent today: refused without asking again, until the
        /// quota changes (raised at run time) or the day does.
        var spentQuota: Int?
    }

    /// Counts since start, for `/internal/metrics`.
    struct Totals {
        var requests = 0, rateLimited = 0, quotaExceeded = 0
    }

    struct State {
        var buckets: [String: Bucket] = [:]
        var allowances: [String: Allowance] = [:]
        /// Since the last flush, by name and day: requests admitted and refused.
        var pending: [PendingKey: (used: Int, limited: Int)] = [:]
        var totals: [String: Totals] = [:]
        /// Token id → when its `last_used_at` was last scheduled (monotonic ns).
        var touchedAt: [String: UInt64] = [:]
        var touch: Set<String> = []
        /// The RateLimit-Policy field per name, built once per limits.
        var policies: [String: (limits: TokenLimits, field: String)] = [:]
    }

    struct PendingKey: Hashable {
        let name: String, day: Int
    }

    public enum Refusal: Sendable {
        case rate(retryAfterSeconds: Int)
        case dailyQuota(retryAfterSeconds: Int)
    }

    private let state = Lock(State())
    static let maxChunk = 256, touchIntervalNanoseconds: UInt64 = 60_000_000_000

    public init() {}

    /// Admits one request of `principal` or says why not; `headers` are the IETF
    /// `RateLimit-Policy` and `RateLimit` fields for the token (none for an unlimited one).
    /// `reserve(want)` reserves quota in the database (only when this process's share is spent).
    func admit(_ principal: ServicePrincipal, epochSeconds: Double, monotonic: UInt64,
               reserve: (_ day: String, _ want: Int, _ quota: Int) throws -> (granted: Int, reserved: Int)) throws
        -> (refusal: Refusal?, headers: [(String, String)]) {
        let name = principal.name, limits = principal.limits
        let day = Int(epochSeconds / 86_400), secondsToMidnight = max(1, Int((Double(day + 1) * 86_400 - epochSeconds).rounded(.up)))
        var rateState: (remaining: Int, reset: Int)?
        var refusal: Refusal?
        var needsReservation = false
        var counted: (left: Int, reservedEverywhere: Int)?
        var policy = ""
        state.withLock { state in
            if state.touchedAt[principal.tokenId].map({ monotonic &- $0 >= Self.touchIntervalNanoseconds }) ?? true {
                state.touchedAt[principal.tokenId] = monotonic
                state.touch.insert(principal.tokenId)
            }
            if let rate = limits.rate {
                var bucket = state.buckets[name] ?? Bucket(tokens: Double(rate.count), at: monotonic, rate: rate)
                if bucket.rate != rate { bucket.rate = rate; bucket.tokens = min(bucket.tokens, Double(rate.count)) }  // changed at run time
                let elapsed = Double(monotonic &- bucket.at) / 1_000_000_000
                bucket.tokens = min(Double(rate.count), bucket.tokens + elapsed * rate.perSecond)
                bucket.at = monotonic
                if bucket.tokens >= 1 {
                    bucket.tokens -= 1
                } else {
                    refusal = .rate(retryAfterSeconds: max(1, Int(((1 - bucket.tokens) / rate.perSecond).rounded(.up))))
                }
                rateState = (Int(bucket.tokens), Int(((Double(rate.count) - bucket.tokens) / rate.perSecond).rounded(.up)))
                state.buckets[name] = bucket
            }
            if refusal == nil, limits.dailyQuota != nil {
                var allowance = state.allowances[name] ?? Allowance(day: day)
                if allowance.day != day { allowance = Allowance(day: day) }
                if allowance.left > 0 {
                    allowance.left -= 1
                } else if allowance.spentQuota == limits.dailyQuota {
                    refusal = .dailyQuota(retryAfterSeconds: secondsToMidnight)
                    if limits.rate != nil { state.buckets[name]?.tokens += 1 }  // not spent: give the rate back
                } else {
                    needsReservation = true
                }
                state.allowances[name] = allowance
            }
            if !limits.isUnlimited {
                if let cached = state.policies[name], cached.limits == limits { policy = cached.field } else {
                    policy = Self.policyField(limits)
                    state.policies[name] = (limits, policy)
                }
            }
            // The usual case takes the lock once: counted here, unless a reservation is due.
            if !needsReservation { counted = Self.count(&state, name: name, day: day, refusal: refusal) }
        }
        if needsReservation, let quota = limits.dailyQuota {
            // Outside the lock: one worker's round trip must not stall the others.
            let known = state.withLock { $0.allowances[name]?.reservedEverywhere ?? 0 }
            let want = max(1, min(Self.maxChunk, (quota - known) / 16))
            let (granted, reserved) = try reserve(Self.dayText(day), want, quota)
            state.withLock { state in
                var allowance = state.allowances[name] ?? Allowance(day: day)
                if allowance.day != day { allowance = Allowance(day: day) }
                allowance.reservedEverywhere = reserved
                if granted > 0 {
                    allowance.left += granted - 1
                } else {
                    allowance.spentQuota = quota
                    refusal = .dailyQuota(retryAfterSeconds: secondsToMidnight)
                }
                state.allowances[name] = allowance
                if granted == 0, limits.rate != nil { state.buckets[name]?.tokens += 1 }  // not spent: give the rate back
            }
        }
        let (quotaRemaining, reservedEverywhere) = counted ?? state.withLock { state in
            Self.count(&state, name: name, day: day, refusal: refusal)
        }
        guard !limits.isUnlimited else { return (refusal, []) }
        var current = ""
        if let rateState {
            current = "\"rate\";r=\(rateState.remaining);t=\(rateState.reset)"
        }
        if let quota = limits.dailyQuota {
            // What is left for everyone: the quota less what all processes reserved, plus this
            // process's unspent share (others' unspent shares are not known here).
            let remaining = max(0, quota - reservedEverywhere + quotaRemaining)
            current += (current.isEmpty ? "" : ", ") + "\"daily\";r=\(remaining);t=\(secondsToMidnight)"
        }
        return (refusal, [("ratelimit-policy", policy), ("ratelimit", current)])
    }

    struct Pending {
        let key: PendingKey, used: Int, limited: Int
        var counts: ServiceTokenUsageStore.Counts {
            ServiceTokenUsageStore.Counts(name: key.name, day: TokenLimiter.dayText(key.day), used: used, limited: limited)
        }
    }

    /// `"rate";q=5;w=1, "daily";q=1000;w=86400`: the same for every request with these limits.
    static func policyField(_ limits: TokenLimits) -> String {
        let parts = [limits.rate.map { "\"rate\";q=\($0.count);w=\($0.windowSeconds)" }, limits.dailyQuota.map { "\"daily\";q=\($0);w=86400" }]
        return parts.compactMap { $0 }.joined(separator: ", ")
    }

    /// Counts one request (admitted or refused) for metrics and the next flush; returns this
    /// process's unspent quota and what every process reserved, for the RateLimit field.
    private static func count(_ state: inout State, name: String, day: Int, refusal: Refusal?) -> (left: Int, reservedEverywhere: Int) {
        let key = PendingKey(name: name, day: day)
        switch refusal {
        case nil:
            state.totals[name, default: Totals()].requests += 1
            state.pending[key, default: (0, 0)].used += 1
        case .rate:
            state.totals[name, default: Totals()].rateLimited += 1
            state.pending[key, default: (0, 0)].limited += 1
        case .dailyQuota:
            state.totals[name, default: Totals()].quotaExceeded += 1
            state.pending[key, default: (0, 0)].limited += 1
        }
        let allowance = state.allowances[name]
        return (allowance?.left ?? 0, allowance?.reservedEverywhere ?? 0)
    }

    /// What to flush: counts since the last flush and the tokens whose last use to record.
    func drain() -> (pending: [Pending], touch: [String]) {
        state.withLock { state in
            let pending = state.pending.map { Pending(key: $0.key, used: $0.value.used, limited: $0.value.limited) }
            let touch = Array(state.touch)
            state.pending.removeAll(keepingCapacity: true)
            state.touch.removeAll(keepingCapacity: true)
            return (pending, touch)
        }
    }

    /// Puts back what a failed flush could not write, for the next one.
    func restore(_ pending: [Pending], touch: [String]) {
        state.withLock { state in
            for entry in pending {
                state.pending[entry.key, default: (0, 0)].used += entry.used
                state.pending[entry.key, default: (0, 0)].limited += entry.limited
            }
            state.touch.formUnion(touch)
        }
    }

    static func dayText(_ day: Int) -> String { String(RFC3339.format(Date(timeIntervalSince1970: Double(day) * 86_400)).prefix(10)) }

    /// Per token name (never the token): requests admitted and refused by this process.
    public func render(into out: inout String) {
        let totals = state.withLock { $0.totals }.sorted { $0.key < $1.key }
        out += "# HELP controlplane_service_token_requests_total Requests admitted, by service token name (this process).\n"
        out += "# TYPE controlplane_service_token_requests_total counter\n"
        for (name, total) in totals { out += "controlplane_service_token_requests_total{token=\"\(name)\"} \(total.requests)\n" }
        out += "# HELP controlplane_service_token_limited_total Requests refused 429, by service token name and the limit that refused them (this process).\n"
        out += "# TYPE controlplane_service_token_limited_total counter\n"
        for (name, total) in totals {
            out += "controlplane_service_token_limited_total{token=\"\(name)\",limit=\"rate\"} \(total.rateLimited)\n"
            out += "controlplane_service_token_limited_total{token=\"\(name)\",limit=\"daily\"} \(total.quotaExceeded)\n"
        }
    }
}
