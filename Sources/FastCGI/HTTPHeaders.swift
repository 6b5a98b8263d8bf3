/// Header fields with lowercase names, in order, looked up case-insensitively.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)] = []

    public init() {}
    public init(_ pairs: [(String, String)]) {
        for (n, v) in pairs { add(n, v) }
    }

    public mutating func add(_ name: String, _ value: String) {
        // Names here are almost always lowercase already; lowercasing allocates, so check first.
        fields.append((name.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? name.lowercased() : name, value))
    }

    /// Replaces every field of that name with one.
    public mutating func set(_ name: String, _ value: String) {
        let lower = name.lowercased()
        fields.removeAll { $0.name == lower }
        fields.append((lower, value))
    }

    /// Lookup by a name given in lowercase (as every caller here does), else folded first.
    public subscript(name: String) -> String? {
        let lower = name.utf8.contains(where: { $0 >= 65 && $0 <= 90 }) ? name.lowercased() : name
        return fields.first { $0.name == lower }?.value
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}
