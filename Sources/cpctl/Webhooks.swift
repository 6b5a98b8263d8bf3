import ArgumentParser
import ControlPlaneCore
import Foundation
import Postgres

/// The same webhook endpoint operations as the API and the console, audited as the operator
/// running cpctl.
struct Webhooks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Webhook endpoints: list, create, update, enable/disable, rotate-secret, test, resend, recover, delete.",
        discussion: "Secrets are printed once (create, rotate-secret); the audit log never holds them.",
        subcommands: [List.self, Show.self, Deliveries.self, Create.self, Update.self, RotateSecret.self, SendTest.self, Resend.self,
                      Recover.self, Delete.self])

    struct Deliveries: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An endpoint's delivery log: every attempt, newest first.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @OptionGroup var output: ListOptions

        func run() throws {
            let db = try database.connect()
            try reportingProblems { try WebhookEndpointStore(db: db).requireExists(target.endpoint) }
            let page = try WebhookDeliveryAttemptStore(db: db).list(endpointId: target.endpoint, after: nil, limit: output.limit)
            output.print(page.items, headers: ["TIME", "MESSAGE", "EVENT", "ATTEMPT", "OUTCOME", "MS"], cells: {
                [timeCell($0.attemptedAt), $0.messageId, $0.eventType, String($0.attempt),
                 $0.statusCode.map { "HTTP \($0)" } ?? ($0.error ?? "no answer"), String($0.durationMs)]
            }, json: { attempt, json in WebhookDeliveryAttemptStore.write(attempt, to: &json) })
        }
    }

    /// The service as the operator running cpctl, with the server's secrets keys and destination rules.
    static func service(_ database: DatabaseOptions) throws -> WebhookEndpointService {
        let environment = try Environment.load()
        return WebhookEndpointService(db: try database.connect(), actor: operatorActor, keys: try SecretKeyRing.load(environment),
                                      destinations: try WebhookDestinationPolicy(environment: environment))
    }

    static func printEndpoint(_ row: WebhookEndpointStore.Row) {
        var json = JSONWriter()
        WebhookEndpointStore.write(row, to: &json)
        printJSON(json.bytes)
    }

    static func eventList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    struct Target: ParsableArguments {
        @Argument(help: "The endpoint's id.") var endpoint: String
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List endpoints with their delivery state (a table; --json for JSON lines).")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "One JSON object per line.") var json = false

        func run() throws {
            let store = WebhookEndpointStore(db: try database.connect())
            var rows: [WebhookEndpointStore.Row] = [], cursor: PageCursor? = nil
            repeat {
                let page = try store.list(after: cursor, limit: 500)
                rows += page.items
                cursor = page.nextCursor
            } while cursor != nil
            if json { rows.forEach(Webhooks.printEndpoint); return }
            printTable(["ID", "STATE", "FAILURES", "BACKLOG", "EVENTS", "URL"], rows.map {
                [$0.id, $0.state, String($0.consecutiveFailures), String($0.backlog), $0.events.joined(separator: ","), $0.url]
            })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print one endpoint as JSON (never its secret).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        func run() throws {
            let db = try database.connect()
            Webhooks.printEndpoint(try reportingProblems { try WebhookEndpointStore(db: db).get(target.endpoint) })
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an endpoint; prints it as JSON with its signing secret, shown this once.",
            discussion: "Event types: \(WebhookEndpointService.subscribable.joined(separator: ", ")).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The receiver's http(s) URL.") var url: String
        @Option(help: "Comma-separated event types, or *.") var events: String
        @Option(help: "For the people who run it.") var description: String?

        func run() throws {
            let service = try Webhooks.service(database)
            let (endpoint, secret) = try reportingProblems {
                try service.create(url: url, events: Webhooks.eventList(events), description: description)
            }
            var json = JSONWriter()
            WebhookEndpointService.writeCreated(endpoint, secret: secret, to: &json)
            printJSON(json.bytes)
        }
    }

    enum DeliverySwitch: String, EnumerableFlag {
        case enable, disable
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change an endpoint's URL, events or description, or enable or disable it (enabling also clears a 410's disable).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option var url: String?
        @Option(help: "Comma-separated event types, or *.") var events: String?
        @Option(help: "An empty string clears it.") var description: String?
        @Flag(help: "Resume or stop deliveries.") var deliveries: DeliverySwitch?
        @Option(help: "Why (recorded).") var reason: String?

        func run() throws {
            let service = try Webhooks.service(database)
            let changes = WebhookEndpointService.Changes(url: url, events: events.map(Webhooks.eventList), description: description,
                                                                 enabled: deliveries.map { $0 == .enable })
            Webhooks.printEndpoint(try reportingProblems { try service.update(target.endpoint, changes, reason: reason) })
        }
    }

    struct RotateSecret: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-secret",
            abstract: "Print a new signing secret, shown this once; both sign every delivery during the overlap (CONTROLPLANE_WEBHOOK_SECRET_OVERLAP_SECONDS).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func run() throws {
            let service = try Webhooks.service(database)
            print(try reportingProblems { try service.rotateSecret(target.endpoint) })
            FileHandle.standardError.write(Data("rotated; the old secret keeps signing alongside the new one until the overlap ends\n".utf8))
        }
    }

    struct SendTest: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "test", abstract: "Queue a webhook.test event to the endpoint; prints its webhook-id.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func run() throws {
            let service = try Webhooks.service(database)
            print(try reportingProblems { try service.sendTest(target.endpoint) })
        }
    }

    struct Resend: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue one message again with the same webhook-id (at every endpoint that had it, or at --endpoint).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The message's webhook-id.") var messageId: String
        @Option(help: "Only to this endpoint.") var endpoint: String?
        @Option(help: "Why (recorded).") var reason: String?

        func run() throws {
            let service = try Webhooks.service(database)
            let count = try reportingProblems { try service.resend(messageId: messageId, endpointId: endpoint, reason: reason) }
            print("queued \(count)")
        }
    }

    struct Recover: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue the endpoint's dead messages since a time again, oldest first.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "RFC 3339 time, e.g. 2026-12-01T00:00:00Z.") var since: String

        func validate() throws {
            guard RFC3339.isValid(since) else { throw ValidationError("--since must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z") }
        }

        func run() throws {
            let service = try Webhooks.service(database)
            let count = try reportingProblems { try service.recover(target.endpoint, since: since) }
            print("queued \(count)")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an endpoint (its delivery log is kept).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target
        @Option(help: "Why (recorded).") var reason: String

        func run() throws {
            let service = try Webhooks.service(database)
            try reportingProblems { try service.delete(target.endpoint, reason: reason) }
            print("deleted \(target.endpoint)")
        }
    }
}
