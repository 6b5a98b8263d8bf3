import ArgumentParser
import ControlPlane
import Foundation
import Postgres

struct Tenants: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create tenants and move them through their lifecycle (recorded with actor operator:<user>).",
        subcommands: [Create.self, Show.self, Suspend.self, Resume.self, Deprovision.self])

    static var actor: String { "operator:\(ProcessInfo.processInfo.environment["USER"] ?? "unknown")" }

    /// A tenant given by id or slug.
    struct Target: ParsableArguments {
        @Argument(help: "Tenant id or slug.") var tenant: String

        func id(_ store: TenantStore) throws -> String {
            if TenantValidation.isUUID(tenant) { return tenant }
            guard let id = try store.findBySlug(tenant) else { throw CLIError("no tenant \(tenant)") }
            return id
        }
    }

    static func run(_ body: () throws -> [UInt8]) throws {
        do {
            print(String(decoding: try body(), as: UTF8.self))
        } catch let failure as TenantStore.Failure {
            switch failure {
            case .notFound: throw CLIError("no such tenant")
            case .illegalTransition(let from, let verb): throw CLIError("cannot \(verb) a tenant that is \(from)")
            case .hostnameTaken: throw CLIError("another tenant has this hostname")
            }
        }
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
            let store = TenantStore(db: try database.connect(), actor: Tenants.actor)
            do {
                try Tenants.run { try store.create(.init(slug: slug, displayName: displayName, contactEmail: contactEmail, plan: plan)) }
            } catch let error as PostgresError where error.kind == .uniqueViolation {
                throw CLIError("a tenant with slug \(slug) exists")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a tenant as JSON.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        func run() throws {
            let store = TenantStore(db: try database.connect(), actor: Tenants.actor)
            try Tenants.run { try store.get(try target.id(store)) }
        }
    }

    struct Suspend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend an active tenant.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "Why (recorded).") var reason: String
        func run() throws {
            let store = TenantStore(db: try database.connect(), actor: Tenants.actor)
            try Tenants.run { try store.perform(.suspend, on: try target.id(store), reason: reason) }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a suspended tenant.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "Why (recorded).") var reason: String?
        func run() throws {
            let store = TenantStore(db: try database.connect(), actor: Tenants.actor)
            try Tenants.run { try store.perform(.resume, on: try target.id(store), reason: reason) }
        }
    }

    struct Deprovision: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Request deprovisioning of a tenant.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "Why (recorded).") var reason: String
        func run() throws {
            let store = TenantStore(db: try database.connect(), actor: Tenants.actor)
            try Tenants.run { try store.perform(.deprovision, on: try target.id(store), reason: reason) }
        }
    }
}
