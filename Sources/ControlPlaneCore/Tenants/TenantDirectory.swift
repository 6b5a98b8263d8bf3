import Foundation
import Locking
import OpenSSLCrypto
import Postgres
import ServiceLog
import Synchronization

/// The tenant directory held in memory by every backend process, as Kubernetes' API server
/// answers LIST from a watch cache: loaded once, then kept current by version (migration
/// 0031) — a watcher thread LISTENs for `tenants_changed` and, on each notice and at least
/// every `pollMilliseconds`, reads the tenants changed after the version it holds. A NOTIFY
/// lost while the watcher reconnects is therefore caught by the next version check.
///
/// Consistency: a write acknowledged by this process is in the snapshot its next read uses
/// (the read catches up to `TenantStore.writtenVersion` first, on its own connection); a
/// write by another process or host is in it within `pollMilliseconds` plus one query.
/// A page's ETag comes from the ids and versions it lists, so a poller's `If-None-Match` is
/// answered without the database and without encoding the page, and every backend gives the
/// same page the same ETag.
public final class TenantDirectory: Sendable {
    private let current = Published<Snapshot?>(nil)
    /// Serializes loads and catch-ups (the watcher's and a reader's): each applies one delta.
    private let updating = Mutex<Void>(())

    public init() {}

    /// A worker's own reference to the current snapshot (see `Published`).
    public typealias Reader = Published<Snapshot?>.Reader

    /// The snapshot now held (nil before the first load).
    public var loaded: Snapshot? { current.value }

    /// A snapshot that holds every write this process acknowledged, loading or catching up on
    /// `db` (the caller's connection) only when it does not yet. With a worker's `reader`, the
    /// usual case takes no lock.
    ///
    /// While another thread is refreshing, the caller waits for it at most `waitMilliseconds`
    /// and then fails as if the database were unreachable (503): a refresh stuck on a database
    /// host that went silent must not queue every request behind it, each adding its own wait.
    public func snapshot(_ db: PostgresConnection, reader: Reader = Reader(), waitMilliseconds: Int = 1000) throws -> Snapshot {
        let wanted = TenantStore.writtenVersion.load(ordering: .relaxed)
        if let held = current.read(reader), held.version >= wanted { return held }
        let caughtUp = try catchUp(db, to: wanted, waitMilliseconds: waitMilliseconds)
        // A version above what the database has committed came from a transaction that rolled
        // back: stop waiting for it (unless a newer write raised the mark meanwhile).
        if caughtUp.version < wanted {
            _ = TenantStore.writtenVersion.compareExchange(expected: wanted, desired: caughtUp.version, ordering: .relaxed)
        }
        return caughtUp
    }

    /// Refreshes on `db` unless another thread is doing so; then waits (bounded) for that one
    /// to publish `version`, taking over if it finishes without it.
    private func catchUp(_ db: PostgresConnection, to version: Int64, waitMilliseconds: Int) throws -> Snapshot {
        let deadline = ContinuousClock.now + .milliseconds(max(0, waitMilliseconds))
        while true {
            if let refreshed = try updating.withLockIfAvailable({ _ in try refreshHoldingLock(db) }) { return refreshed }
            if let held = loaded, held.version >= version { return held }
            guard ContinuousClock.now < deadline else {
                throw PostgresError(kind: .connectionUnavailable, sqlState: nil,
                                    serverMessage: "the tenant directory is being refreshed by another thread")
            }
            usleep(2000)
        }
    }

    /// Loads everything (first time) or applies the changes after the held version.
    @discardableResult
    public func refresh(_ db: PostgresConnection) throws -> Snapshot {
        try updating.withLock { _ in try refreshHoldingLock(db) }
    }

    private func refreshHoldingLock(_ db: PostgresConnection) throws -> Snapshot {
        let store = TenantStore(db: db)
        guard var held = loaded else {
            let fresh = try Snapshot(entries: store.directoryEntries())
            current.publish(fresh)
            return fresh
        }
        while true {
            let changes = try store.directoryChanges(after: held.version, limit: Self.chunk)
            guard !changes.isEmpty else { break }
            held = held.applying(changes)
            current.publish(held)
            if changes.count < Self.chunk { break }
        }
        return held
    }

    /// Rows per delta query: a bulk import arrives in pieces, not as one libpq result of every
    /// row (which glibc keeps as heap after it is freed).
    static let chunk = 5000

    /// Starts the watcher thread (for the life of the process).
    public func startWatching(conninfo: String, options: PostgresConnection.Options, pollMilliseconds: Int32, logger: Logger) {
        ChangeWatcher.start(name: "tenant-directory", conninfo: conninfo, options: options, channel: "tenants_changed",
                            pollMilliseconds: pollMilliseconds, retrySeconds: 0.2) { [self] db in
            let first = loaded == nil
            let snapshot = try refresh(db)
            if first {
                logger.info("tenant directory loaded", ["version": .int(Int(snapshot.version)), "tenants": .int(snapshot.count)])
            }
        }
    }
}

extension TenantDirectory {
    /// One tenant as the directory serves and filters it. The id is kept as its 128 bits
    /// (uuid order is their order), the object as its encoded JSON.
    public struct Entry: Sendable {
        public let id: UInt128
        public let status: String
        public let connectorKind: String?
        public let updatedMicros: Int64
        /// Set while the tenant is not deprovisioned: the email check's `existing_tenant`.
        public let liveContactDomain: String?
        public let json: [UInt8]
        public let version: Int64

        public init(id: UInt128, status: String, connectorKind: String?, updatedMicros: Int64, contactDomain: String?,
                    json: [UInt8], version: Int64) {
            self.id = id; self.status = status; self.connectorKind = connectorKind; self.updatedMicros = updatedMicros
            self.liveContactDomain = status == "deprovisioned" ? nil : contactDomain
            self.json = json; self.version = version
        }
    }

    /// What a page is asked for.
    public struct PageRequest: Sendable {
        public var after: UInt128?, limit: Int, status: String?, connectorKind: String?, updatedSinceMicros: Int64?
        public init(after: UInt128?, limit: Int, status: String? = nil, connectorKind: String? = nil, updatedSinceMicros: Int64? = nil) {
            self.after = after; self.limit = limit; self.status = status; self.connectorKind = connectorKind
            self.updatedSinceMicros = updatedSinceMicros
        }
    }

    /// A page: which entries, its next cursor and strong ETag; the body is encoded on demand
    /// (a revalidation that matches never builds it).
    public struct Page {
        let snapshot: Snapshot
        let chosen: [Int]
        public let nextCursor: String?
        public let etag: String

        public var body: [UInt8] {
            let entries = snapshot.entries
            let capacity = chosen.reduce(64) { $0 + entries[$1].json.count + 1 }
            return JSONWriter.list(count: chosen.count, nextCursor: nextCursor, capacity: capacity) { json, index in
                json.didWriteValue()
                json.rawFragment(entries[chosen[index]].json)
            }
        }
    }

    /// An immutable version of the directory; readers keep the one they took.
    public final class Snapshot: Sendable {
        public let version: Int64
        /// In id order.
        let entries: [Entry]
        /// Contact domains of tenants that are not deprovisioned, with how many have each.
        let liveDomains: [String: Int]
        public var count: Int { entries.count }

        init(entries: [Entry], liveDomains: [String: Int]? = nil, version: Int64? = nil) {
            self.entries = entries
            self.version = version ?? entries.reduce(0) { max($0, $1.version) }
            self.liveDomains = liveDomains ?? entries.reduce(into: [:]) { counts, entry in
                if let domain = entry.liveContactDomain { counts[domain, default: 0] += 1 }
            }
        }

        /// A live tenant has this contact domain (lowercase, as `tenants_master.contact_domain`).
        public func hasLiveTenant(contactDomain domain: String) -> Bool { liveDomains[domain] != nil }

        /// The first index whose id is above `id`.
        func index(after id: UInt128) -> Int { firstIndex(from: 0) { $0 > id } }

        /// The first index at or after `start` whose id satisfies `isPast` (which must hold for
        /// every id from some point on: ids are in order).
        private func firstIndex(from start: Int, where isPast: (UInt128) -> Bool) -> Int {
            var low = start, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if isPast(entries[middle].id) { high = middle } else { low = middle + 1 }
            }
            return low
        }

        /// The next version: `changes` (in version order; a later one for the same tenant wins)
        /// replace or join the entries, merged in one pass (a bulk import of 90,000 tenants
        /// must not shift the array once per tenant).
        func applying(_ changes: [Entry]) -> Snapshot {
            var latest: [UInt128: Entry] = [:]
            for change in changes { latest[change.id] = change }
            var domains = liveDomains, merged: [Entry] = []
            merged.reserveCapacity(entries.count + latest.count)
            var next = 0
            for change in latest.values.sorted(by: { $0.id < $1.id }) {
                let at = firstIndex(from: next) { $0 >= change.id }
                merged.append(contentsOf: entries[next..<at])
                next = at
                if at < entries.count && entries[at].id == change.id {
                    if let old = entries[at].liveContactDomain, let count = domains[old] {
                        domains[old] = count > 1 ? count - 1 : nil
                    }
                    next = at + 1
                }
                merged.append(change)
                if let domain = change.liveContactDomain { domains[domain, default: 0] += 1 }
            }
            merged.append(contentsOf: entries[next...])
            return Snapshot(entries: merged, liveDomains: domains, version: max(version, changes.map(\.version).max() ?? 0))
        }

        /// The entries a request asks for, with the strong ETag of their encoding: a digest of
        /// the request, each listed id and version, the next cursor and `TenantJSON.encoding`
        /// (an entry's JSON is a function of its row at that version).
        public func page(_ request: PageRequest) -> Page {
            var chosen: [Int] = []
            chosen.reserveCapacity(request.limit + 1)
            var at = request.after.map(index(after:)) ?? 0
            while at < entries.count && chosen.count <= request.limit {
                let entry = entries[at]
                if (request.status == nil || entry.status == request.status)
                    && (request.connectorKind == nil || entry.connectorKind == request.connectorKind)
                    && (request.updatedSinceMicros.map { entry.updatedMicros >= $0 } ?? true) {
                    chosen.append(at)
                }
                at += 1
            }
            var next: String?
            if chosen.count > request.limit {
                chosen.removeLast()
                next = PageCursor(TenantDirectory.uuidText(entries[chosen[chosen.count - 1]].id)).encoded
            }
            var digest: [UInt8] = []
            digest.reserveCapacity(chosen.count * 24 + 64)
            func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { digest.append(contentsOf: $0) } }
            append(TenantJSON.encoding)
            append(request.limit)
            digest.append(contentsOf: Array((request.status ?? "").utf8) + [0] + Array((request.connectorKind ?? "").utf8) + [0])
            append(request.updatedSinceMicros ?? Int64.min)
            append(request.after ?? 0)
            for index in chosen {
                append(entries[index].id)
                append(entries[index].version)
            }
            digest.append(contentsOf: Array((next ?? "").utf8))
            let etag = "\"" + Base64.encode(SHA256.hash(digest).prefix(18), url: true) + "\""
            return Page(snapshot: self, chosen: chosen, nextCursor: next, etag: etag)
        }
    }

    /// A uuid's 128 bits from its text (any case, with hyphens), or nil.
    public static func uuidBits(_ text: String) -> UInt128? {
        var value: UInt128 = 0, digits = 0
        for byte in text.utf8 {
            let nibble: UInt8
            switch byte {
            case 48...57: nibble = byte - 48
            case 97...102: nibble = byte - 87
            case 65...70: nibble = byte - 55
            case 45: continue
            default: return nil
            }
            value = value << 4 | UInt128(nibble)
            digits += 1
        }
        return digits == 32 ? value : nil
    }

    /// The canonical text (lowercase, hyphenated) of 128 uuid bits.
    public static func uuidText(_ value: UInt128) -> String {
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for index in 0..<32 {
            if index == 8 || index == 12 || index == 16 || index == 20 { out.append(45) }
            out.append(hex[Int((value >> UInt128(124 - 4 * index)) & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
