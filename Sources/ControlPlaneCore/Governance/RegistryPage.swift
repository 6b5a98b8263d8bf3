import OpenSSLCrypto

/// One page of `GET /v1/registry/jobs`, validated as a whole before anything is applied.
/// Each item's `canonicalPayload` is a byte range of the response body: never decoded.
public struct RegistryPage {
    public struct Item {
        public let jobId: String
        public let status: String
        public let updatedAt: String
        /// The payload's top-level `nodeId`, when it has one (an indexed copy, for rules).
        public let nodeId: String?
        /// The payload's top-level `partnerId` when it is 1–200 bytes (an indexed copy, for counts).
        public let partnerId: String?
        public let payload: Range<Int>
    }

    public let items: [Item]
    public let nextCursor: String?
    public let hasMore: Bool

    public struct Malformed: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    public static func parse(_ body: [UInt8]) throws -> RegistryPage {
        do {
            return try JSONScanner.withDocument(body) { scanner, root in
                guard root.kind == .object else { throw Malformed(description: "the page is not a JSON object") }
                var items: [Item]?, nextCursor: String?, hasMore: Bool?
                for (name, value) in try scanner.members(of: root) {
                    switch name {
                    case "items":
                        guard value.kind == .array else { throw Malformed(description: "items is not an array") }
                        items = try scanner.elements(of: value).enumerated().map { try item($1, index: $0, scanner: scanner) }
                    case "nextCursor":
                        if value.kind == .string { nextCursor = try scanner.string(at: value) }
                        else if scanner.literal(at: value) != "null" { throw Malformed(description: "nextCursor is not a string or null") }
                    case "hasMore":
                        switch scanner.literal(at: value) {
                        case "true": hasMore = true
                        case "false": hasMore = false
                        default: throw Malformed(description: "hasMore is not a boolean")
                        }
                    default: break  // members added by later registry versions are ignored
                    }
                }
                guard let items else { throw Malformed(description: "items is missing") }
                guard let hasMore else { throw Malformed(description: "hasMore is missing") }
                if hasMore && (nextCursor ?? "").isEmpty { throw Malformed(description: "hasMore without a nextCursor") }
                return RegistryPage(items: items, nextCursor: nextCursor, hasMore: hasMore)
            }
        } catch let error as JSONScanner.Failure {
            throw Malformed(description: error.description)
        }
    }

    static func item(_ span: JSONScanner.Span, index: Int, scanner: JSONScanner) throws -> Item {
        guard span.kind == .object else { throw Malformed(description: "items[\(index)] is not an object") }
        var jobId: String?, status: String?, updatedAt: String?, payload: JSONScanner.Span?
        for (name, value) in try scanner.members(of: span) {
            switch name {
            case "jobId": jobId = try scanner.string(at: value)
            case "status": status = try scanner.string(at: value)
            case "updatedAt": updatedAt = try scanner.string(at: value)
            case "canonicalPayload": payload = value
            default: break
            }
        }
        guard let jobId, (1...200).contains(jobId.utf8.count) else { throw Malformed(description: "items[\(index)].jobId is missing or not 1 to 200 bytes") }
        guard let status, (1...100).contains(status.utf8.count) else { throw Malformed(description: "items[\(index)].status is missing or not 1 to 100 bytes") }
        guard let updatedAt, RFC3339.isValid(updatedAt) else { throw Malformed(description: "items[\(index)].updatedAt is not RFC 3339") }
        guard let payload else { throw Malformed(description: "items[\(index)].canonicalPayload is missing") }
        var nodeId: String?, partnerId: String?
        if payload.kind == .object {
            for (name, value) in try scanner.members(of: payload) where value.kind == .string {
                if name == "nodeId" { nodeId = try scanner.string(at: value) }
                if name == "partnerId", let partner = try scanner.string(at: value), (1...200).contains(partner.utf8.count) { partnerId = partner }
            }
        }
        return Item(jobId: jobId, status: status, updatedAt: updatedAt, nodeId: nodeId, partnerId: partnerId, payload: payload.range)
    }
}
