@testable import ControlPlaneCore
import OpenSSLCrypto
import XCTest

final class TenantRulesTests: XCTestCase {
    func testLifecycleTable() {
        XCTAssertEqual(TenantAction.requestProvisioning.next(from: .pending), .provisioning)
        XCTAssertEqual(TenantAction.siteCreated.next(from: .provisioning), .active)
        XCTAssertEqual(TenantAction.siteFailed.next(from: .provisioning), .provisioningFailed)
        XCTAssertEqual(TenantAction.requestProvisioning.next(from: .provisioningFailed), .provisioning)
        XCTAssertEqual(TenantAction.suspend.next(from: .active), .suspended)
        XCTAssertEqual(TenantAction.resume.next(from: .suspended), .active)
        XCTAssertEqual(TenantAction.deprovision.next(from: .suspended), .deprovisioning)
        XCTAssertEqual(TenantAction.siteDeleted.next(from: .deprovisioning), .deprovisioned)
        // Everything else is refused; deprovisioned is terminal.
        let actions: [TenantAction] = [.requestProvisioning, .siteCreated, .siteFailed, .suspend, .resume, .deprovision, .siteDeleted]
        for action in actions { XCTAssertNil(action.next(from: .deprovisioned), "\(action)") }
        XCTAssertNil(TenantAction.suspend.next(from: .provisioning))
        XCTAssertNil(TenantAction.resume.next(from: .active))
        XCTAssertNil(TenantAction.siteCreated.next(from: .active))
        XCTAssertNil(TenantAction.deprovision.next(from: .pending))
        let legal = TenantStatus.allCases.flatMap { s in actions.compactMap { $0.next(from: s) != nil ? 1 : nil } }.count
        XCTAssertEqual(legal, 10)
    }

    func testCredentialReferences() {
        let id = "3f0c2a52-7d59-4f43-9a57-58c4c0e0f1aa"
        for good in ["kv:erp_cred:\(id)", "kv:erp_cred:acme", "vault:secret/data/erp/acme", "aws-sm:arn:aws:secretsmanager:eu-west-1:123456789012:secret:erp-acme",
                     "gcp-sm:projects/p/secrets/erp-acme/versions/3", "azure-kv:erp-acme"] {
            XCTAssertEqual(CredentialReference.check(good), .reference, good)
        }
        for malformed in ["plain", "file:/etc/passwd", "kv:", "kv:has space", "KV:x"] {
            guard case .malformed = CredentialReference.check(malformed) else { return XCTFail(malformed) }
        }
        for secret in ["-----BEGIN RSA PRIVATE KEY-----", "kv:password=abc", "kv:x?token=abc", "kv:https://u:p@h/x",
                       "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                       "kv:sk_live_51HqLyjWDarjtT1zdp7dcXy9mN3bQ", "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
                       "kv:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"] {
            guard case .looksLikeSecret = CredentialReference.check(secret) else { return XCTFail(secret) }
        }
    }

    func testValidationRules() {
        XCTAssertNil(TenantValidation.slugProblem("acme-2"))
        XCTAssertNotNil(TenantValidation.slugProblem("Acme"))
        XCTAssertNotNil(TenantValidation.slugProblem("acme-"))
        XCTAssertNil(TenantValidation.hostnameProblem("acme.erp.example.com"))
        XCTAssertNotNil(TenantValidation.hostnameProblem("acme..example.com"))
        XCTAssertNotNil(TenantValidation.hostnameProblem("-acme.example.com"))
        XCTAssertTrue(TenantValidation.isUUID("3f0c2a52-7d59-4f43-9a57-58c4c0e0f1aa"))
        XCTAssertFalse(TenantValidation.isUUID("3f0c2a52-7d59-4f43-9a57-58c4c0e0f1a'"))
        XCTAssertNil(TenantValidation.emailProblem("ops@acme.example"))
        XCTAssertNotNil(TenantValidation.emailProblem("ops@acme"))
        XCTAssertNotNil(TenantValidation.emailProblem("o ps@acme.example"))
    }
}
