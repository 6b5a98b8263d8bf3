import Foundation

/// Settings read from the environment, after an optional `KEY=VALUE` file named by
/// `CONTROLPLANE_CONFIG_FILE` (the environment wins). Every name is in the README.
public struct Environment: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    public static func load(processEnvironment: [String: String] = ProcessInfo.processInfo.environment) throws -> Environment {
        var merged: [String: String] = [:]
        if let file = processEnvironment["CONTROLPLANE_CONFIG_FILE"], !file.isEmpty {
            merged = try parseFile(at: file)
        }
        merged.merge(processEnvironment) { _, fromEnvironment in fromEnvironment }
        return Environment(merged)
    }

    /// `KEY=VALUE` lines; `#` comments, blank lines, optional `export ` and quotes.
    public static func parseFile(at path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError.unreadable(path)
        }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String) throws -> [String: String] {
        var values: [String: String] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw ConfigurationError.malformedLine(source: source, line: number + 1)
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return values
    }

    public subscript(key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    public func string(_ key: String, default fallback: String) -> String { self[key] ?? fallback }

    public func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = self[key] else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError.invalid(key: key, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func double(_ key: String, default fallback: Double) throws -> Double {
        guard let text = self[key] else { return fallback }
        guard let value = Double(text), value >= 0 else {
            throw ConfigurationError.invalid(key: key, expected: "a non-negative number")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let text = self[key]?.lowercased() else { return fallback }
        switch text {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError.invalid(key: key, expected: "on or off")
        }
    }
}

public enum ConfigurationError: Error, CustomStringConvertible {
    case unreadable(String)
    case malformedLine(source: String, line: Int)
    case missing(String)
    case invalid(key: String, expected: String)

    public var description: String {
        switch self {
        case .unreadable(let path): "configuration file \(path) cannot be read"
        case .malformedLine(let source, let line): "\(source):\(line): expected KEY=VALUE"
        case .missing(let key): "\(key) is required"
        case .invalid(let key, let expected): "\(key) must be \(expected)"
        }
    }
}

extension Environment {
    /// A secret from the environment, or from the file `KEY_FILE` names, or from the
    /// systemd credential of the same name in lowercase with dashes (`$CREDENTIALS_DIRECTORY`).
    public func secret(_ key: String) throws -> String? {
        if let value = self[key] { return value }
        var path = self["\(key)_FILE"]
        if path == nil, let directory = self["CREDENTIALS_DIRECTORY"] {
            let credential = key.lowercased().replacingOccurrences(of: "_", with: "-")
            let candidate = (directory as NSString).appendingPathComponent(credential)
            if FileManager.default.fileExists(atPath: candidate) { path = candidate }
        }
        guard let path else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ConfigurationError.unreadable(path) }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return value.isEmpty ? nil : value
    }
}

/// The database URL each executable uses: its own variable, else `DATABASE_URL`.
extension Environment {
    public func databaseURL(preferring key: String) throws -> String {
        guard let url = self[key] ?? self["DATABASE_URL"] else {
            throw ConfigurationError.missing("\(key) or DATABASE_URL")
        }
        return url
    }
}
