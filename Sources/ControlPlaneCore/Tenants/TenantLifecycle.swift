/// The tenant state machine. Every transition is recorded in `tenant_events` and announced
/// to webhook subscribers as `event`.
public enum TenantStatus: String, CaseIterable, Sendable {
    case pending, provisioning, provisioningFailed = "provisioning_failed", active, suspended, deprovisioning, deprovisioned
}

public enum TenantAction: String, Sendable {
    case requestProvisioning, siteCreated, siteFailed, suspend, resume, deprovision, siteDeleted

    /// The statuses this action may start from, and where it leads.
    var rule: (from: Set<TenantStatus>, to: TenantStatus, event: String) {
        switch self {
        case .requestProvisioning: ([.pending, .provisioningFailed], .provisioning, "tenant.provisioning_requested")
        case .siteCreated: ([.provisioning], .active, "tenant.activated")
        case .siteFailed: ([.provisioning], .provisioningFailed, "tenant.provisioning_failed")
        case .suspend: ([.active], .suspended, "tenant.suspended")
        case .resume: ([.suspended], .active, "tenant.resumed")
        case .deprovision: ([.active, .suspended, .provisioningFailed], .deprovisioning, "tenant.deprovisioning_requested")
        case .siteDeleted: ([.deprovisioning], .deprovisioned, "tenant.deprovisioned")
        }
    }

    /// The next status, or nil when the action is illegal from `status`.
    public func next(from status: TenantStatus) -> TenantStatus? {
        rule.from.contains(status) ? rule.to : nil
    }

    public var event: String { rule.event }

    /// How a refusal reads: "cannot suspend a tenant that is provisioning".
    public var verb: String {
        switch self {
        case .requestProvisioning: "request provisioning for"
        case .siteCreated: "activate"
        case .siteFailed: "mark as failed"
        case .suspend: "suspend"
        case .resume: "resume"
        case .deprovision: "deprovision"
        case .siteDeleted: "complete deprovisioning of"
        }
    }
}

/// Operational events about the webhooks themselves, sent only to endpoints that name them
/// (never through `*`, and never to the endpoint they are about).
public enum WebhookOperationalEvents {
    public static let endpointDisabled = "webhook.endpoint.disabled", messageExhausted = "webhook.message.exhausted"
    public static let all = [endpointDisabled, messageExhausted]
}

/// Every tenant event type a webhook endpoint may subscribe to.
public enum TenantEvents {
    public static let all: [String] = [
        "tenant.created", "tenant.provisioning_requested", "tenant.activated", "tenant.provisioning_failed",
        "tenant.suspended", "tenant.resumed", "tenant.deprovisioning_requested", "tenant.deprovisioned",
        "tenant.connector_updated",
    ]
}
