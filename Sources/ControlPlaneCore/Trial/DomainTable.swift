#if canImport(Glibc)
import Glibc
#endif

/// What the domain dictionary says of a domain.
public enum DomainKind: String, CaseIterable, Sendable {
    case free, disposable, blocked
    /// An operator's override: a listed parent domain does not apply to this one.
    case allowed
}

/// An immutable open-addressing hash table of domains (bytes in one arena), built once per
/// dictionary version and shared by every worker thread: a lookup hashes the bytes in
/// place and allocates nothing.
public struct DomainTable: Sendable {
    private var arena: [UInt8] = []
    private var entries: [(offset: Int32, length: Int32, kind: DomainKind)] = []
    private var slots: [Int32]
    private let mask: Int
    public var count: Int { entries.count }

    public init(_ domains: [(String, DomainKind)]) {
        var capacity = 16
        while capacity < domains.count * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        arena.reserveCapacity(domains.reduce(0) { $0 + $1.0.utf8.count })
        for (domain, kind) in domains {
            let bytes = Array(domain.utf8)
            let hit: Int? = bytes.withUnsafeBufferPointer { find($0) }
            if let existing = hit {
                entries[existing].kind = kind
                continue
            }
            let entry = Int32(entries.count)
            entries.append((Int32(arena.count), Int32(bytes.count), kind))
            arena.append(contentsOf: bytes)
            var slot = bytes.withUnsafeBufferPointer { Int(truncatingIfNeeded: Self.hash($0)) } & mask
            while slots[slot] != -1 { slot = (slot + 1) & mask }
            slots[slot] = entry
        }
    }

    public func kind(of domain: UnsafeBufferPointer<UInt8>) -> DomainKind? {
        find(domain).map { entries[$0].kind }
    }

    public func kind(of domain: String) -> DomainKind? {
        var copy = domain
        return copy.withUTF8 { kind(of: $0) }
    }

    /// The most specific listed match among the domain and its parents
    /// (`mail.yahoo.co.kr`, then `yahoo.co.kr`, `co.kr`, `kr`).
    public func match(_ domain: UnsafeBufferPointer<UInt8>) -> (kind: DomainKind, listed: Range<Int>)? {
        var start = 0
        while start < domain.count {
            let suffix = UnsafeBufferPointer(rebasing: domain[start...])
            if let kind = kind(of: suffix) { return (kind, start..<domain.count) }
            guard let dot = suffix.firstIndex(of: UInt8(ascii: ".")) else { break }
            start += dot + 1
        }
        return nil
    }

    private func find(_ key: UnsafeBufferPointer<UInt8>) -> Int? {
        var slot = Int(truncatingIfNeeded: Self.hash(key)) & mask
        while true {
            let entry = slots[slot]
            if entry == -1 { return nil }
            let e = entries[Int(entry)]
            if Int(e.length) == key.count {
                let equal = arena.withUnsafeBufferPointer { a in
                    key.count == 0 || memcmp(a.baseAddress! + Int(e.offset), key.baseAddress!, key.count) == 0
                }
                if equal { return Int(entry) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// FNV-1a, 64 bit.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        return h ^ (h >> 29)
    }
}
