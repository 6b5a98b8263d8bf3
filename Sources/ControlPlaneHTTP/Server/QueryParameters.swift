import ControlPlaneCore
import FastCGI

/// The one reader of query parameters, used by every list route: typed reads (a `limit` in
/// a range, enums, RFC 3339 times, opaque cursors) that collect every complaint, and
/// `finish()`, which answers one 400 naming each unknown, repeated or invalid parameter.
public struct QueryParameters {
    private var values: [String: [String]] = [:]
    private var order: [String] = []
    private var read: Set<String> = []
    private var problems: [Problem.InvalidParam] = []

    public init(_ request: Request) {
        for (name, value) in request.queryItems {
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(value)
        }
    }

    /// The raw value, once; a parameter given twice is refused (which one would win is a guess).
    private mutating func value(_ name: String) -> String? {
        read.insert(name)
        guard let given = values[name] else { return nil }
        guard given.count == 1 else {
            problems.append(.init(name: name, reason: "must appear at most once"))
            return nil
        }
        return given[0]
    }

    public mutating func string(_ name: String, maxBytes: Int = 200) -> String? {
        guard let text = value(name) else { return nil }
        guard (1...maxBytes).contains(text.utf8.count) else {
            problems.append(.init(name: name, reason: "must be 1 to \(maxBytes) bytes"))
            return nil
        }
        return text
    }

    public mutating func oneOf(_ name: String, _ allowed: [String]) -> String? {
        guard let text = value(name) else { return nil }
        guard allowed.contains(text) else {
            problems.append(.init(name: name, reason: "must be one of \(allowed.joined(separator: ", "))"))
            return nil
        }
        return text
    }

    public mutating func oneOf<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) -> T? where T.RawValue == String {
        oneOf(name, T.allCases.map(\.rawValue)).flatMap(T.init(rawValue:))
    }

    public mutating func timestamp(_ name: String) -> String? {
        guard let text = value(name) else { return nil }
        guard RFC3339.isValid(text) else {
            problems.append(.init(name: name, reason: "must be an RFC 3339 date-time"))
            return nil
        }
        return text
    }

    public mutating func int(_ name: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = value(name) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            problems.append(.init(name: name, reason: "must be an integer from \(range.lowerBound) to \(range.upperBound)"))
            return nil
        }
        return number
    }

    /// `limit`: `defaultValue` when absent, else 1 … `max`.
    public mutating func limit(default defaultValue: Int, max: Int) -> Int {
        int("limit", in: 1...max) ?? defaultValue
    }

    /// `cursor`: what a previous page returned as `nextCursor`, with `parts` key parts.
    public mutating func cursor(parts: Int) -> PageCursor? {
        guard let text = value("cursor") else { return nil }
        guard let cursor = PageCursor(encoded: text, parts: parts) else {
            problems.append(.init(name: "cursor", reason: "is not a cursor this API returned"))
            return nil
        }
        return cursor
    }

    /// Adds a complaint found by the caller (a combination the types cannot express).
    public mutating func refuse(_ name: String, _ reason: String) {
        problems.append(.init(name: name, reason: reason))
    }

    /// Throws one 400 listing every unknown parameter and every invalid value, if any.
    public func finish() throws {
        let unknown = order.filter { !read.contains($0) }.map { Problem.InvalidParam(name: $0, reason: "is not a known parameter") }
        let all = problems + unknown
        if !all.isEmpty { throw Problem.invalidQuery(Array(all.prefix(20))) }
    }
}
