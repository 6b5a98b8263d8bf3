import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where webhook deliveries may go, checked at registration and again at every delivery
/// after resolving the name, so that tenant data signed by us never reaches the inside of
/// the network: https only (http only to loopback, and only when
/// `CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK` is on — the dev and test stacks); link-local and
/// cloud metadata addresses always refused; loopback, private, shared (CGNAT), unique-local,
/// unspecified, multicast and reserved addresses refused unless allowed (loopback by the
/// setting above, the others by `CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS`, comma-separated
/// CIDRs). Every address a name resolves to must pass; the delivery connects only to them.
public struct WebhookDestinationPolicy: Sendable {
    public var allowLoopback: Bool
    public var allowedNetworks: [IPNetwork]

    public init(allowLoopback: Bool = false, allowedNetworks: [IPNetwork] = []) {
        self.allowLoopback = allowLoopback
        self.allowedNetworks = allowedNetworks
    }

    public init(environment: Environment) throws {
        allowLoopback = try environment.bool("CONTROLPLANE_WEBHOOK_ALLOW_LOOPBACK", default: false)
        allowedNetworks = try (environment["CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .map { text in
                guard let network = IPNetwork(text) else {
                    throw ConfigurationError.invalid(key: "CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS", expected: "CIDRs such as 10.20.0.0/16")
                }
                return network
            }
    }

    /// A destination that passed: connect to one of `addresses` (each checked) for `host`.
    public struct Destination: Sendable, Equatable {
        public let host: String, port: Int, addresses: [String]
    }

    /// The reason is written for the API's client and the delivery log: it names the rule,
    /// not what the network looks like inside.
    public func check(_ text: String, resolve: (String) -> [String] = WebhookDestinationPolicy.resolve) -> Result<Destination, Refusal> {
        guard text.utf8.count <= 2000, let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", var host = url.host, !host.isEmpty, url.user == nil, url.password == nil,
              url.fragment == nil else {
            return .failure(Refusal("must be an absolute https URL without credentials or fragment"))
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let addresses = IPAddress(host).map { [$0] } ?? resolve(host).compactMap(IPAddress.init)
        guard !addresses.isEmpty else { return .failure(Refusal("does not resolve to an address")) }
        for address in addresses {
            switch address.kind {
            case .linkLocal, .metadata:
                return .failure(Refusal("must not point at a link-local or metadata address"))
            case .loopback where !allowLoopback:
                return .failure(Refusal("must not point at this host (loopback)"))
            case .internal where !allowedNetworks.contains(where: { $0.contains(address) }):
                return .failure(Refusal("must not point at a private or reserved address (unless CONTROLPLANE_WEBHOOK_ALLOWED_NETWORKS names it)"))
            default: break
            }
        }
        if scheme == "http", !addresses.allSatisfy({ $0.kind == .loopback }) {
            return .failure(Refusal("must use https (http only for loopback receivers in development)"))
        }
        return .success(Destination(host: host, port: port, addresses: addresses.map(\.text)))
    }

    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let reason: String
        init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// The addresses the system resolver gives for a name (numeric text, IPv4 and IPv6).
    public static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var out: [String] = []
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                let text = String(cString: buffer)
                if !out.contains(text) { out.append(text) }
            }
            node = entry.pointee.ai_next
        }
        return out
    }
}

/// An IPv4 or IPv6 address (IPv4-mapped IPv6 addresses are taken as IPv4).
public struct IPAddress: Sendable, Equatable {
    public let bytes: [UInt8]  // 4 or 16
    public let text: String

    public init?(_ text: String) {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            let all = withUnsafeBytes(of: &v6) { Array($0) }
            bytes = all.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff] ? Array(all.suffix(4)) : all
        } else {
            return nil
        }
        self.text = text
    }

    public enum Kind: Sendable { case publicAddress, loopback, linkLocal, metadata, `internal` }

    public var kind: Kind {
        if bytes.count == 4 {
            let (a, b) = (bytes[0], bytes[1])
            if bytes == [169, 254, 169, 254] { return .metadata }
            if a == 127 { return .loopback }
            if a == 169 && b == 254 { return .linkLocal }
            if a == 0 || a == 10 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168) || (a == 100 && (64...127).contains(b))
                || a >= 224 || (a == 192 && b == 0 && bytes[2] == 0) || (a == 198 && (b == 18 || b == 19)) {
                return .internal  // unspecified, private, shared, multicast/reserved, IETF, benchmarking
            }
            return .publicAddress
        }
        if bytes == [UInt8](repeating: 0, count: 15) + [1] { return .loopback }
        if bytes == [0xfd, 0, 0x0e, 0xc2] + [UInt8](repeating: 0, count: 10) + [0x02, 0x54] { return .metadata }  // fd00:ec2::254
        if bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80 { return .linkLocal }
        if bytes.allSatisfy({ $0 == 0 }) || (bytes[0] & 0xfe) == 0xfc || bytes[0] == 0xff || (bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8) {
            return .internal  // unspecified, unique local, multicast, documentation
        }
        return .publicAddress
    }
}

/// A CIDR block: `10.20.0.0/16`, `fd12:3456::/48`.
public struct IPNetwork: Sendable, Equatable {
    let base: IPAddress
    let prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let base = IPAddress(String(parts[0])) else { return nil }
        let bits = base.bytes.count * 8
        guard let prefix = parts.count == 2 ? Int(parts[1]) : bits, (0...bits).contains(prefix) else { return nil }
        self.base = base
        self.prefix = prefix
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == base.bytes.count else { return false }
        var remaining = prefix
        for (a, b) in zip(address.bytes, base.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xff : ~(0xff >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }
}
