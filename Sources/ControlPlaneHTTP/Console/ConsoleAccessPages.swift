import ControlPlaneCore
import FastCGI

/// The console's access page: service tokens (an admin creates one, shown once, or revokes
/// one), operators and their sessions (an admin ends any session), the JWKS key ids.
enum ConsoleAccessPages {
    typealias Console = ConsoleHandlers

    @Sendable static func access(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        return try page(context, viewer: viewer, created: nil)
    }

    static func page(_ context: RequestContext, viewer: Console.Viewer, created: (name: String, token: String)?) throws -> Response {
        let db = context.database
        let isAdmin = viewer.person.role >= .admin
        let today = try ServiceTokenUsageStore(db: db).today()
        let tokens: [[String: Any]] = try ServiceTokenStore(db: db).list().map {
            let live = $0.state == "active" || $0.state == "superseded"
            return ["name": $0.name, "hint": $0.hint + "…", "state": $0.state, "scopes": $0.scopes.joined(separator: ", "),
                    "createdAt": Console.shortTime($0.createdAt), "expiresAt": Console.shortTime($0.expiresAt),
                    "lastUsedAt": Console.shortTime($0.lastUsedAt), "revokedAt": Console.shortTime($0.revokedAt),
                    "limits": $0.limits.summary, "rate": $0.limits.rate?.description ?? "", "quota": $0.limits.dailyQuota.map(String.init) ?? "",
                    "usedToday": today[$0.name]?.used ?? 0, "limitedToday": today[$0.name]?.limited ?? 0, "hasLimited": (today[$0.name]?.limited ?? 0) > 0,
                    "canRevoke": isAdmin && live, "canLimit": isAdmin && $0.state == "active", "csrf": viewer.csrf]
        }
        let operators: [[String: Any]] = try OperatorStore(db: db).list().map {
            ["name": $0.name, "email": $0.email ?? "", "role": $0.roleName, "createdAt": Console.shortTime($0.createdAt),
             "disabled": $0.disabledAt != nil]
        }
        let sessions: [[String: Any]] = try ConsoleSessionStore(db: db).list(idleSeconds: ConsoleSignIn.idleSeconds,
                                                                             absoluteSeconds: ConsoleSignIn.absoluteSeconds, limit: 100).map {
            ["id": $0.id, "operator": $0.operatorName, "createdAt": Console.shortTime($0.createdAt), "lastSeenAt": Console.shortTime($0.lastSeenAt),
             "userAgent": String(($0.userAgent ?? "").prefix(80)), "ended": $0.ended, "yours": $0.id == viewer.sessionId,
             "canRevoke": !$0.ended && (isAdmin || $0.id == viewer.sessionId), "csrf": viewer.csrf]
        }
        var data: [String: Any] = [
            "tokens": tokens, "operators": operators, "sessions": sessions, "isAdmin": isAdmin, "csrf": viewer.csrf,
            "scopes": Scope.allCases.map(\.rawValue), "kids": context.settings.jwtKeys.map(\.kid),
        ]
        if let created { data["created"] = ["name": created.name, "token": created.token] }
        return Console.page("access", title: "Access", viewer: viewer, data: data, active: "access",
                            notice: context.request.queryValue("done").flatMap { notices[$0] })
    }

    static let notices = ["revoke": "Token revoked: requests with it are refused within the token cache's lifetime.",
                          "session": "Session ended.", "limits": "Limits changed: every backend applies them within the token cache's lifetime."]

    /// `POST /console/access/tokens` (admin): the new token is on the answer, once, and nowhere else.
    @Sendable static func createToken(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .admin)
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        let scopes = Scope.allCases.filter { form["scope.\($0.rawValue)"] == "on" }
        guard !scopes.isEmpty else { throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "A token needs at least one scope.") }
        let expiresIn = (form["expiresIn"] ?? "").trimmingCharacters(in: .whitespaces)
        let lifetime = expiresIn.isEmpty ? nil : DurationText.seconds(expiresIn)
        guard expiresIn.isEmpty || lifetime != nil else {
            throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "Expires in is a number and a unit: s, m, h, d or w (e.g. 90d).")
        }
        let limits = try TokenLimits.parse(rate: form["rateLimit"], dailyQuota: form["dailyQuota"])
        let token = ServiceToken.generate()
        do {
            try context.audited(actor: viewer.actor, action: "token.create", reason: Console.reason(form)) { db in
                try ServiceTokenStore(db: db).create(name: name, token: token, scopes: scopes, createdBy: viewer.actor, expiresInSeconds: lifetime,
                                                     limits: limits)
                let summary = ([scopes.map(\.rawValue).joined(separator: ",")] + [expiresIn.isEmpty ? nil : "expires in \(expiresIn)",
                                                                                   limits.isUnlimited ? nil : limits.summary].compactMap { $0 })
                return ((), target: "token:\(name)", summary: summary.joined(separator: "; "))  // never the token
            }
        } catch let failure as ServiceTokenStore.Failure {
            let text = failure == .malformedName ? "A token name is lowercase letters, digits, . _ - (at most 63)." : "That name is taken."
            throw Console.ConsoleRefusal(status: failure == .malformedName ? 422 : 409, title: "Not done", text: text)
        }
        return try page(context, viewer: viewer, created: (name, token))
    }

    /// `POST /console/access/tokens/{name}/revoke` (admin): with a reason, confirmed on a second step.
    @Sendable static func revokeToken(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .admin)
        let name = context.parameter("name")
        let reason = try Console.requiredReason(form, for: "Revoking a token")
        guard form["confirm"] == "yes" else {
            return Console.confirmation(form, action: "/console/access/tokens/\(URLEncoding.component(name))/revoke", back: "/console/access",
                                        title: "Revoke token \(name)?",
                                        text: "Every service using it is refused from now on.", viewer: viewer)
        }
        do {
            try context.audited(actor: viewer.actor, action: "token.revoke", reason: reason) { db in
                try ServiceTokenStore(db: db).revoke(name: name)
                return ((), target: "token:\(name)", summary: nil)
            }
        } catch ServiceTokenStore.Failure.notFound {
            throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No live token has this name.")
        }
        return Console.redirect("/console/access?done=revoke")
    }

    /// `POST /console/access/sessions/{id}/revoke`: an admin ends any session; anyone ends their own.
    @Sendable static func revokeSession(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        guard let id = Int64(context.parameter("id")) else { throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such session.") }
        let form = try Console.change(context, viewer: viewer, needs: id == viewer.sessionId ? .viewer : .admin)
        try context.audited(actor: viewer.actor, action: "console.session.revoke", reason: Console.reason(form)) { db in
            guard let owner = try ConsoleSessionStore(db: db).operatorName(session: id) else {
                throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No such session.")
            }
            try ConsoleSessionStore(db: db).revoke(id)
            return ((), target: "operator:\(owner)", summary: "session \(id)")
        }
        return Console.redirect(id == viewer.sessionId ? "/console/" : "/console/access?done=session")
    }

    /// `POST /console/access/tokens/{name}/limits` (admin): a new rate limit and daily quota
    /// (blank fields remove them), applied by every backend within the token cache's lifetime.
    @Sendable static func setLimits(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .admin)
        let name = context.parameter("name")
        let limits = try TokenLimits.parse(rate: (form["rateLimit"] ?? "").isEmpty ? "none" : form["rateLimit"],
                                           dailyQuota: (form["dailyQuota"] ?? "").isEmpty ? "none" : form["dailyQuota"])
        do {
            try context.audited(actor: viewer.actor, action: "token.limit", reason: Console.reason(form)) { db in
                try ServiceTokenStore(db: db).setLimits(name: name, limits)
                return ((), target: "token:\(name)", summary: limits.summary)
            }
        } catch ServiceTokenStore.Failure.notFound {
            throw Console.ConsoleRefusal(status: 404, title: "Not found", text: "No live token has this name.")
        }
        return Console.redirect("/console/access?done=limits")
    }
}
