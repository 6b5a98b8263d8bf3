import Postgres

/// Writes tenant rows as the tenant JSON object of DESIGN.md, straight from libpq's
/// buffers. Columns are found by name once per result.
public struct TenantJSON {
    /// Changes whenever what `write` produces for the same row changes: the directory's ETags
    /// hash it with each tenant's version instead of hashing the bytes.
    public static let encoding = 1

    private let id, slug, displayName, status, siteHostname, plan, connectorKind, connectorRef, createdAt, updatedAt: Int

    public init(_ rows: PostgresRows) throws {
        func column(_ name: String) throws -> Int {
            guard let index = rows.columnIndex(name) else { throw PostgresDecodingError(column: name, type: "tenant column") }
            return index
        }
        id = try column("id"); slug = try column("slug"); displayName = try column("display_name")
        status = try column("status"); siteHostname = try column("site_hostname"); plan = try column("plan")
        connectorKind = try column("connector_kind"); connectorRef = try column("connector_credential_ref")
        createdAt = try column("created_at"); updatedAt = try column("updated_at")
    }

    /// The member names with their punctuation, laid out once (this is the directory's hot loop).
    private static let prefixes: [[UInt8]] = [
        #"{"id":"#, #","slug":"#, #","displayName":"#, #","status":"#, #","siteHostname":"#, #","plan":"#,
        #","connectorKind":"#, #","connectorCredentialRef":"#, #","createdAt":"#, #","updatedAt":"#,
    ].map { Array($0.utf8) }

    public func write(_ rows: PostgresRows, row: Int, to json: inout JSONWriter) {
        json.didWriteValue()
        let p = Self.prefixes
        json.rawFragment(p[0]); rows.withBytes(row, id) { json.stringValue(utf8: $0) }
        json.rawFragment(p[1]); rows.withBytes(row, slug) { json.stringValue(utf8: $0) }
        json.rawFragment(p[2]); rows.withBytes(row, displayName) { json.stringValue(utf8: $0) }
        json.rawFragment(p[3]); rows.withBytes(row, status) { json.stringValue(utf8: $0) }
        json.rawFragment(p[4]); rows.withBytes(row, siteHostname) { json.stringValue(utf8: $0) }
        json.rawFragment(p[5]); rows.withBytes(row, plan) { json.stringValue(utf8: $0) }
        json.rawFragment(p[6]); rows.withBytes(row, connectorKind) { json.stringValue(utf8: $0) }
        json.rawFragment(p[7]); rows.withBytes(row, connectorRef) { json.stringValue(utf8: $0) }
        json.rawFragment(p[8]); rows.withBytes(row, createdAt) { json.timestampValue(postgresText: $0) }
        json.rawFragment(p[9]); rows.withBytes(row, updatedAt) { json.timestampValue(postgresText: $0) }
        json.rawFragment(Self.closeBrace)
    }

    private static let closeBrace: [UInt8] = [UInt8(ascii: "}")]

    static func encode(_ rows: PostgresRows, row: Int = 0) throws -> [UInt8] {
        var json = JSONWriter(capacity: 512)
        try TenantJSON(rows).write(rows, row: row, to: &json)
        return json.bytes
    }
}
