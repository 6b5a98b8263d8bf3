/// Every event type a webhook receiver can get, with a JSON Schema (2020-12) of the whole
/// message (`type`, `timestamp`, `data`). Served by `GET /internal/webhooks/event-types`; the
/// end-to-end tests validate real deliveries against it, so a payload change that forgets the
/// catalog fails them.
public enum WebhookEventCatalog {
    public struct Entry: Sendable {
        public let type: String, description: String
        /// The JSON Schema of `data`, as JSON text.
        public let dataSchema: String
    }

    static let tenant = """
        {"type":"object","additionalProperties":false,\
        "required":["id","slug","displayName","status","siteHostname","plan","connectorKind","connectorCredentialRef","createdAt","updatedAt"],\
        "properties":{"id":{"type":"string","format":"uuid"},"slug":{"type":"string"},"displayName":{"type":"string"},\
        "status":{"enum":["pending","provisioning","provisioning_failed","active","suspended","deprovisioning","deprovisioned"]},\
        "siteHostname":{"type":["string","null"]},"plan":{"type":"string"},"connectorKind":{"type":["string","null"]},\
        "connectorCredentialRef":{"type":["string","null"]},"createdAt":{"type":"string","format":"date-time"},\
        "updatedAt":{"type":"string","format":"date-time"}}}
        """

    public static let entries: [Entry] = [
        Entry(type: "tenant.created", description: "A tenant was created (its provisioning is requested in the same change).", dataSchema: tenant),
        Entry(type: "tenant.provisioning_requested", description: "Provisioning was requested again after a failure.", dataSchema: tenant),
        Entry(type: "tenant.activated", description: "The provisioner created the tenant's site.", dataSchema: tenant),
        Entry(type: "tenant.provisioning_failed", description: "The provisioner failed, or did not answer in time.", dataSchema: tenant),
        Entry(type: "tenant.suspended", description: "The tenant was suspended.", dataSchema: tenant),
        Entry(type: "tenant.resumed", description: "A suspended tenant is active again.", dataSchema: tenant),
        Entry(type: "tenant.deprovisioning_requested", description: "The tenant's site is to be deleted.", dataSchema: tenant),
        Entry(type: "tenant.deprovisioned", description: "The provisioner deleted the tenant's site.", dataSchema: tenant),
        Entry(type: "tenant.connector_updated", description: "The tenant's connector slot changed (a credential reference, never a credential).",
              dataSchema: tenant),
        Entry(type: "webhook.test", description: "Sent on request (POST …/test), whatever the endpoint subscribed to.", dataSchema: """
            {"type":"object","additionalProperties":false,"required":["endpointId"],"properties":{"endpointId":{"type":"string","format":"uuid"}}}
            """),
        Entry(type: WebhookOperationalEvents.endpointDisabled,
              description: "Another endpoint was disabled (it answered 410, or failed for too long); to endpoints that name this event.",
              dataSchema: """
            {"type":"object","additionalProperties":false,"required":["endpointId","url","reason"],\
            "properties":{"endpointId":{"type":"string","format":"uuid"},"url":{"type":"string"},"reason":{"type":"string"}}}
            """),
        Entry(type: WebhookOperationalEvents.messageExhausted,
              description: "Messages to another endpoint will not be delivered (the schedule ran out, or its backlog went over the cap).",
              dataSchema: """
            {"type":"object","additionalProperties":false,"required":["endpointId","reason","count","messageIds"],\
            "properties":{"endpointId":{"type":"string","format":"uuid"},"reason":{"enum":["attempts_exhausted","backlog_cap"]},\
            "count":{"type":"integer","minimum":1},"messageIds":{"type":"array","maxItems":100,"items":{"type":"string"}}}}
            """),
    ]

    /// The schema of a whole message of this type.
    public static func messageSchema(_ entry: Entry) -> String {
        """
        {"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","additionalProperties":false,\
        "required":["type","timestamp","data"],"properties":{"type":{"const":"\(entry.type)"},\
        "timestamp":{"type":"string","format":"date-time"},"data":\(entry.dataSchema)}}
        """
    }
}
