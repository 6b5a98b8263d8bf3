import Crypto
import Foundation
import Postgres

/// Operator review of submitted drafts, shared by the internal API and cpctl. Approval
/// creates the tenant and requests its provisioning in the same transaction; every
/// decision is a row of the append-only `trial_decisions`.
public struct TrialReview {
    public let db: PostgresConnection
    public let actor: String
    public init(db: PostgresConnection, actor: String) { self.db = db; self.actor = actor }

    public enum Failure: Error { case notFound, notSubmitted(String) }

    public func list(status: String?, limit: Int) throws -> [UInt8] {
        let rows = try db.query("""
            SELECT id::text, status, email, work_email, company_name, contact_name, country, company_size, use_case,
                   submitted_at, tenant_id::text, created_at
            FROM trial_drafts WHERE (\(status)::text IS NULL OR status = \(status))
            ORDER BY COALESCE(submitted_at, created_at), id LIMIT \(limit)
            """, retryOnConnectionLoss: true)
        return JSONWriter.list(count: rows.count) { json, row in
            json.beginObject()
            for (index, key) in ["draftId", "status", "email", "workEmail", "companyName", "contactName", "country",
                                 "companySize", "useCase"].enumerated() {
                json.key(key); rows.withBytes(row, index) { json.string(utf8: $0) }
            }
            json.key("submittedAt"); rows.withBytes(row, 9) { Timestamp.write($0, to: &json) }
            json.key("tenantId"); rows.withBytes(row, 10) { json.string(utf8: $0) }
            json.key("createdAt"); rows.withBytes(row, 11) { Timestamp.write($0, to: &json) }
            json.endObject()
        }
    }

    /// Approves a submitted draft: creates the tenant (provisioning requested) and records the decision.
    public func approve(draftId: String, reason: String?) throws -> [UInt8] {
        guard TenantValidation.isUUID(draftId) else { throw Failure.notFound }
        return try db.transaction { db in
            let rows = try db.query("""
                SELECT status, company_name, work_email FROM trial_drafts WHERE id = \(draftId)::uuid FOR UPDATE
                """)
            guard rows.count == 1 else { throw Failure.notFound }
            let status = try rows.decode(0, 0, as: String.self)
            guard status == "submitted" else { throw Failure.notSubmitted(status) }
            let company = try rows.decode(0, 1, as: String.self)
            let email = try rows.decode(0, 2, as: String.self)
            let tenant = try TenantStore(db: db, actor: actor).create(
                .init(slug: Self.slug(for: company), displayName: String(company.prefix(200)), contactEmail: email, plan: "trial"),
                reason: reason ?? "trial approved")
            let tenantId = try JSONScanner.withDocument(tenant) { scanner, root in
                try scanner.members(of: root).first { $0.name == "id" }.flatMap { try scanner.string(at: $0.value) } ?? ""
            }
            try db.query("UPDATE trial_drafts SET status = 'approved', tenant_id = \(tenantId)::uuid, updated_at = now() WHERE id = \(draftId)::uuid")
            try db.query("""
                INSERT INTO trial_decisions (draft_id, decision, actor, reason, tenant_id)
                VALUES (\(draftId)::uuid, 'approved', \(actor), \(reason), \(tenantId)::uuid)
                """)
            var json = JSONWriter()
            json.beginObject()
            json.key("draftId"); json.string(draftId)
            json.key("status"); json.string("approved")
            json.key("tenantId"); json.string(tenantId)
            json.key("tenant"); json.raw(tenant)
            json.endObject()
            return json.bytes
        }
    }

    public func reject(draftId: String, reason: String) throws -> [UInt8] {
        guard TenantValidation.isUUID(draftId) else { throw Failure.notFound }
        return try db.transaction { db in
            let rows = try db.query("SELECT status FROM trial_drafts WHERE id = \(draftId)::uuid FOR UPDATE")
            guard rows.count == 1 else { throw Failure.notFound }
            let status = try rows.decode(0, 0, as: String.self)
            guard status == "submitted" else { throw Failure.notSubmitted(status) }
            try db.query("UPDATE trial_drafts SET status = 'rejected', updated_at = now() WHERE id = \(draftId)::uuid")
            try db.query("""
                INSERT INTO trial_decisions (draft_id, decision, actor, reason) VALUES (\(draftId)::uuid, 'rejected', \(actor), \(reason))
                """)
            return Array(#"{"draftId":"\#(draftId)","status":"rejected"}"#.utf8)
        }
    }

    /// `Acme Corp.` → `acme-corp-3f9a1c`: readable, and unique enough to never collide in practice.
    static func slug(for company: String) -> String {
        var out = ""
        var dash = false
        for scalar in company.lowercased().unicodeScalars {
            if scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar)) {
                out.unicodeScalars.append(scalar)
                dash = false
            } else if !dash && !out.isEmpty {
                out.append("-")
                dash = true
            }
            if out.count >= 40 { break }
        }
        while out.hasSuffix("-") { out.removeLast() }
        if out.isEmpty { out = "tenant" }
        return out + "-" + Hex.encode(SecureRandom.bytes(3))
    }
}
