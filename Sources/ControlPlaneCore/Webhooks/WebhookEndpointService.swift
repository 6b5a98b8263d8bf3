import Foundation
import Postgres

/// Webhook endpoint operations for every surface (the API, the console, cpctl): each checks its
/// input, makes its change and records one audit row in the same transaction. Secrets are
/// returned to the caller once and never reach the audit log.
public struct WebhookEndpointService {
    public let db: PostgresConnection
    public let actor: String
    public let traceId: String?
    public let keys: SecretKeyRing?
    public let destinations: WebhookDestinationPolicy

    public init(db: PostgresConnection, actor: String, traceId: String? = nil, keys: SecretKeyRing?,
                destinations: WebhookDestinationPolicy) {
        self.db = db
        self.actor = actor
        self.traceId = traceId
        self.keys = keys
        self.destinations = destinations
    }

    /// What an update changes; nil leaves a field as it is (an empty description clears it).
    public struct Changes: Sendable {
        public var url: String?
        public var events: [String]?
        public var description: String?
        public var enabled: Bool?

        public init(url: String? = nil, events: [String]? = nil, description: String? = nil, enabled: Bool? = nil) {
            self.url = url
            self.events = events
            self.description = description
            self.enabled = enabled
        }

        var names: String {
            [("description", description != nil), ("enabled", enabled != nil), ("events", events != nil), ("url", url != nil)]
                .filter(\.1).map(\.0).joined(separator: ", ")
        }
    }

    public static let maxDescriptionLength = 500

    /// A new endpoint with its secret, as create answers it (the only time the secret is shown).
    public static func writeCreated(_ endpoint: WebhookEndpointStore.Row, secret: String, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.string(endpoint.id)
        json.key("url"); json.string(endpoint.url)
        json.key("events"); json.beginArray(); endpoint.events.forEach { json.string($0) }; json.endArray()
        json.key("description"); json.string(endpoint.description)
        json.key("secret"); json.string(secret)
        json.key("createdAt"); json.timestamp(endpoint.createdAt)
        json.endObject()
    }

    /// Creates an endpoint; returns it with its signing secret (shown once).
    public func create(url: String, events: [String], description: String? = nil) throws -> (endpoint: WebhookEndpointStore.Row, secret: String) {
        try check(url: url, events: events, description: description)
        let keys = try requireKeys()
        let secret = StandardWebhooks.generateSecret()
        let endpoint = try audited("webhook_endpoint.create") { db in
            let store = WebhookEndpointStore(db: db)
            var made = try store.create(url: url, events: Self.normalized(events), secret: secret, keys: keys)
            if let description, !description.isEmpty { made = try store.update(made.id, url: nil, events: nil, description: description) }
            return (made, target: "webhook_endpoint:\(made.id)", summary: made.events.joined(separator: ", "))  // never the secret
        }
        return (endpoint, secret)
    }

    /// Changes url, events, description, and `enabled` (true re-enables an endpoint that a 410,
    /// a long failure or an operator disabled, healthy again).
    public func update(_ id: String, _ changes: Changes, reason: String? = nil) throws -> WebhookEndpointStore.Row {
        guard changes.url != nil || changes.events != nil || changes.description != nil || changes.enabled != nil else {
            throw Problem.validation("body", "change at least one of url, events, description, enabled")
        }
        try check(url: changes.url, events: changes.events, description: changes.description)
        let action = changes.url == nil && changes.events == nil && changes.description == nil
            ? (changes.enabled == true ? "webhook_endpoint.enable" : "webhook_endpoint.disable") : "webhook_endpoint.update"
        return try audited(action, reason: reason) { db in
            let store = WebhookEndpointStore(db: db)
            var row = try store.update(id, url: changes.url, events: changes.events.map(Self.normalized), description: changes.description)
            if let enabled = changes.enabled { row = try store.setEnabled(id, enabled) }
            return (row, target: "webhook_endpoint:\(id)", summary: "changed \(changes.names)")
        }
    }

    /// A new signing secret, shown once; deliveries carry both signatures during the overlap.
    public func rotateSecret(_ id: String) throws -> String {
        let keys = try requireKeys()
        let secret = StandardWebhooks.generateSecret()
        try audited("webhook_endpoint.rotate_secret") { db in
            guard try WebhookEndpointStore(db: db).rotateSecret(id, to: secret, keys: keys) else { throw WebhookEndpointStore.Failure.notFound }
            return ((), target: "webhook_endpoint:\(id)", summary: nil)  // never a secret
        }
        return secret
    }

    /// Queues a `webhook.test` event to this endpoint now; returns its `webhook-id`.
    public func sendTest(_ id: String) throws -> String {
        try audited("webhook_endpoint.test") { db in
            let endpoint = try WebhookEndpointStore(db: db).get(id)
            guard !endpoint.disabled else { throw Problem.conflict("This endpoint is disabled: enable it first.", type: .illegalTransition) }
            return (try WebhookOutboxStore(db: db).enqueueTest(endpointId: id), target: "webhook_endpoint:\(id)", summary: "webhook.test")
        }
    }

    /// Queues one message (its `webhook-id`) again, at every endpoint that had it or at one;
    /// returns how many deliveries were queued.
    public func resend(messageId: String, endpointId: String? = nil, reason: String? = nil) throws -> Int {
        if let endpointId, !TenantValidation.isUUID(endpointId) { throw Problem.validation("endpointId", "must be an endpoint id") }
        guard (1...200).contains(messageId.utf8.count) else { throw Problem.notFound("No such message.") }
        return try audited("webhook_message.resend", reason: reason) { db in
            let count = try WebhookOutboxStore(db: db).resend(messageId: messageId, endpointId: endpointId)
            guard count > 0 else { throw Problem.notFound("No such message\(endpointId == nil ? "" : " at this endpoint").") }
            return (count, target: "webhook_message:\(messageId)", summary: "\(count) queued")
        }
    }

    /// Queues the endpoint's dead messages since `since` (RFC 3339) again, oldest first.
    public func recover(_ id: String, since: String) throws -> Int {
        guard RFC3339.isValid(since) else { throw Problem.validation("since", "must be an RFC 3339 date-time") }
        return try audited("webhook_endpoint.recover") { db in
            try WebhookEndpointStore(db: db).requireExists(id)
            let count = try WebhookOutboxStore(db: db).recover(endpointId: id, since: since)
            return (count, target: "webhook_endpoint:\(id)", summary: "\(count) dead messages since \(since) queued")
        }
    }

    public func delete(_ id: String, reason: String? = nil) throws {
        try audited("webhook_endpoint.delete", reason: reason) { db in
            (try WebhookEndpointStore(db: db).delete(id), target: "webhook_endpoint:\(id)", summary: nil)
        }
    }

    /// The checks an endpoint's URL, event list and description pass, at creation and at every change.
    public func check(url: String?, events: [String]?, description: String?) throws {
        var problems: [Problem.InvalidParam] = []
        if let url, let reason = Self.urlProblem(url) { problems.append(.init(name: "url", reason: reason)) }
        if let events {
            if events.isEmpty || events.count > 50 {
                problems.append(.init(name: "events", reason: "must list 1 to 50 event types"))
            } else if let unknown = events.first(where: { !Self.subscribable.contains($0) }) {
                problems.append(.init(name: "events", reason: "\(unknown.prefix(64)) is not an event type; known: \(Self.subscribable.dropFirst().joined(separator: ", ")), or *"))
            }
        }
        // Code points, as the column's CHECK (char_length) and JSON Schema's maxLength count them.
        if let description, description.unicodeScalars.count > Self.maxDescriptionLength {
            problems.append(.init(name: "description", reason: "at most \(Self.maxDescriptionLength) characters"))
        } else if let description, description.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\t" }) {
            problems.append(.init(name: "description", reason: "must not contain control characters"))
        }
        guard problems.isEmpty else { throw Problem.validation(problems) }
        // Resolved now (and again at every delivery): no receiver inside the network.
        if let url, case .failure(let refusal) = destinations.check(url) {
            throw Problem.validation("url", refusal.reason)
        }
    }

    /// `*` and every event type an endpoint can subscribe to.
    public static let subscribable = ["*"] + TenantEvents.all + WebhookOperationalEvents.all

    static func urlProblem(_ text: String) -> String? {
        guard text.utf8.count <= 2000, let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty, url.user == nil, url.password == nil,
              url.fragment == nil else {
            return "must be an absolute http(s) URL without credentials or fragment"
        }
        return nil
    }

    static func normalized(_ events: [String]) -> [String] { Array(Set(events)).sorted() }

    private func requireKeys() throws -> SecretKeyRing {
        guard let keys else {
            throw Problem(503, type: .webhooksNotConfigured,
                          detail: "Webhook endpoints need CONTROLPLANE_SECRETS_KEYS (signing secrets are kept encrypted).")
        }
        return keys
    }

    private func audited<T>(_ action: String, reason: String? = nil,
                            _ change: (PostgresConnection) throws -> (T, target: String, summary: String?)) throws -> T {
        try AuditLogStore.audited(db, actor: actor, traceId: traceId, action: action, reason: reason, change)
    }
}
