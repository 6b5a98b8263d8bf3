import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

struct Tenants: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create tenants and move them through their lifecycle (recorded with actor operator:<user>).",
        subcommands: [List.self, Create.self, Show.self, Suspend.self, Resume.self, Deprovision.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List or search tenants (slug, name or contact domain contains --query).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: ListOptions
        @Option(help: "Text the slug, name or contact domain contains (any case).") var query: String?
        @Option(help: "Only tenants in this status.") var status: String?

        func validate() throws {
            if let status, TenantStatus(rawValue: status) == nil {
                throw ValidationError("--status must be one of \(TenantStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let page = try TenantStore(db: try database.connect()).search(query, status: status, after: nil, limit: output.limit)
            output.print(page.items, headers: ["ID", "SLUG", "STATUS", "PLAN", "CONNECTOR", "UPDATED", "NAME"], cells: {
                [$0.id, $0.slug, $0.status, $0.plan, $0.connectorKind ?? "-", timeCell($0.updatedAt), $0.displayName]
            }, json: { tenant, json in
                json.beginObject()
                json.key("id"); json.string(tenant.id)
                json.key("slug"); json.string(tenant.slug)
                json.key("displayName"); json.string(tenant.displayName)
                json.key("status"); json.string(tenant.status)
                json.key("plan"); json.string(tenant.plan)
                json.key("connectorKind"); json.string(tenant.connectorKind)
                json.key("updatedAt"); json.timestamp(tenant.updatedAt)
                json.endObject()
            })
        }
    }

    /// A tenant given by id or slug.
    struct Target: ParsableArguments {
        @Argument(help: "Tenant id or slug.") var tenant: String

        func id(_ db: PostgresConnection) throws -> String {
            if TenantValidation.isUUID(tenant) { return tenant }
            guard let id = try TenantStore(db: db).id(forSlug: tenant) else { throw CLIError("no tenant \(tenant)") }
            return id
        }
    }

    static func run(_ body: () throws -> [UInt8]) throws {
        printJSON(try reportingProblems(body))
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and request its provisioning.")
        @OptionGroup var database: DatabaseOptions
        @Option var slug: String
        @Option(name: .customLong("display-name")) var displayName: String
        @Option(name: .customLong("contact-email")) var contactEmail: String
        @Option var plan = "trial"

        func run() throws {
            for problem in [TenantValidation.slugProblem(slug).map { "--slug \($0)" },
                            TenantValidation.displayNameProblem(displayName).map { "--display-name \($0)" },
                            TenantValidation.emailProblem(contactEmail).map { "--contact-email \($0)" },
                            TenantValidation.planProblem(plan).map { "--plan \($0)" }].compactMap({ $0 }) {
                throw ValidationError(problem)
            }
            let service = TenantService(db: try database.connect(), actor: operatorActor)
            try Tenants.run { try service.create(.init(slug: slug, displayName: displayName, contactEmail: contactEmail, plan: plan)) }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a tenant as JSON.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        func run() throws {
            let db = try database.connect()
            try Tenants.run { try TenantService(db: db, actor: operatorActor).get(try target.id(db)) }
        }
    }

    struct Suspend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend an active tenant.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "Why (recorded).") var reason: String
        func run() throws {
            let db = try database.connect()
            try Tenants.run { try TenantService(db: db, actor: operatorActor).perform(.suspend, on: try target.id(db), reason: reason) }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a suspended tenant.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "Why (recorded).") var reason: String?
        func run() throws {
            let db = try database.connect()
            try Tenants.run { try TenantService(db: db, actor: operatorActor).perform(.resume, on: try target.id(db), reason: reason) }
        }
    }

    struct Deprovision: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Request deprovisioning of a tenant.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "Why (recorded).") var reason: String
        func run() throws {
            let db = try database.connect()
            try Tenants.run { try TenantService(db: db, actor: operatorActor).perform(.deprovision, on: try target.id(db), reason: reason) }
        }
    }
}
