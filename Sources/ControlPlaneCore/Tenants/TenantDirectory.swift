import Foundation
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
/// Pages are encoded once per snapshot version and reused, with their ETags, so a poller's
/// `If-None-Match` is answered without touching the database.
public final class TenantDirectory: Sendable {
    private let current = Mutex<Snapshot?>(nil)
    /// Serializes loads and catch-ups (the watcher's and a reader's): each applies one delta.
    private let updating = Mutex<Void>(())

    public init() {}

    /// The snapshot now held (nil before the first load).
    public var loaded: Snapshot? { current.withLock { $0 } }

    /// A snapshot that holds every write this process acknowledged, loading or catching up on
    /// `db` (the caller's connection) only when it does not yet.
    public func snapshot(_ db: PostgresConnection) throws -> Snapshot {
        let wanted = TenantStore.writtenVersion.load(ordering: .relaxed)
        if let held = loaded, held.version >= wanted { return held }
        let caughtUp = try refresh(db)
        // A version above what the database has committed came from a transaction that rolled
        // back: stop waiting for it (unless a newer write raised the mark meanwhile).
        if caughtUp.version < wanted {
            _ = TenantStore.writtenVersion.compareExchange(expected: wanted, desired: caughtUp.version, ordering: .relaxed)
        }
        return caughtUp
    }

    /// Loads everything (first time) or applies the changes after the held version.
    @discardableResult
    public func refresh(_ db: PostgresConnection) throws -> Snapshot {
        try updating.withLock { _ in
            let store = TenantStore(db: db)
            guard let held = loaded else {
                let fresh = try Snapshot(entries: store.directoryEntries())
                current.withLock { $0 = fresh }
                return fresh
            }
            let changes = try store.directoryChanges(after: held.version)
            guard !changes.isEmpty else { return held }
            let next = held.applying(changes)
            current.withLock { $0 = next }
            return next
        }
    }

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

    /// What a page is asked for; also its cache key.
    public struct PageRequest: Hashable, Sendable {
        public var after: UInt128?, limit: Int, status: String?, connectorKind: String?, updatedSinceMicros: Int64?
        public init(after: UInt128?, limit: Int, status: String? = nil, connectorKind: String? = nil, updatedSinceMicros: Int64? = nil) {
            self.after = after; self.limit = limit; self.status = status; self.connectorKind = connectorKind
            self.updatedSinceMicros = updatedSinceMicros
        }
    }

    /// A page as sent: the body and its strong ETag.
    public struct EncodedPage: Sendable {
        public let body: [UInt8]
        public let etag: String
    }

    /// An immutable version of the directory; readers keep the one they took.
    public final class Snapshot: Sendable {
        public let version: Int64
        /// In id order.
        let entries: [Entry]
        /// Contact domains of tenants that are not deprovisioned, with how many have each.
        let liveDomains: [String: Int]
        private let pages = Mutex<(pages: [PageRequest: EncodedPage], bytes: Int)>(([:], 0))
        /// Encoded pages kept per version, at most this many bytes (pollers walk the same pages).
        static let pageCacheBytes = 8 << 20

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
        func index(after id: UInt128) -> Int {
            var low = 0, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].id <= id { low = middle + 1 } else { high = middle }
            }
            return low
        }

        /// The next version: `changes` (in version order) replace or join the entries.
        func applying(_ changes: [Entry]) -> Snapshot {
            var entries = self.entries, domains = liveDomains
            for change in changes {
                let at = index(in: entries, of: change.id)
                if at < entries.count && entries[at].id == change.id {
                    if let old = entries[at].liveContactDomain, let count = domains[old] {
                        domains[old] = count > 1 ? count - 1 : nil
                    }
                    entries[at] = change
                } else {
                    entries.insert(change, at: at)
                }
                if let domain = change.liveContactDomain { domains[domain, default: 0] += 1 }
            }
            return Snapshot(entries: entries, liveDomains: domains, version: max(version, changes.map(\.version).max() ?? 0))
        }

        private func index(in entries: [Entry], of id: UInt128) -> Int {
            var low = 0, high = entries.count
            while low < high {
                let middle = (low + high) / 2
                if entries[middle].id < id { low = middle + 1 } else { high = middle }
            }
            return low
        }

        /// The page, encoded once for this version.
        public func page(_ request: PageRequest) -> EncodedPage {
            if let cached = pages.withLock({ $0.pages[request] }) { return cached }
            let encoded = encode(request)
            pages.withLock { cache in
                guard cache.bytes + encoded.body.count <= Self.pageCacheBytes else { return }
                cache.pages[request] = encoded
                cache.bytes += encoded.body.count
            }
            return encoded
        }

        private func encode(_ request: PageRequest) -> EncodedPage {
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
            let count = min(chosen.count, request.limit)
            let next = chosen.count > request.limit ? PageCursor(TenantDirectory.uuidText(entries[chosen[count - 1]].id)).encoded : nil
            let capacity = chosen.prefix(count).reduce(64) { $0 + entries[$1].json.count + 1 }
            let body = JSONWriter.list(count: count, nextCursor: next, capacity: capacity) { json, index in
                json.didWriteValue()
                json.rawFragment(entries[chosen[index]].json)
            }
            return EncodedPage(body: body, etag: "\"" + Base64.encode(SHA256.hash(body).prefix(18), url: true) + "\"")
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
