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
        let tokens: [[String: Any]] = try ServiceTokenStore(db: db).list().map {
            ["name": $0.name, "hint": $0.hint + "…", "scopes": $0.scopes.joined(separator: ", "), "createdAt": Console.shortTime($0.createdAt),
             "revokedAt": Console.shortTime($0.revokedAt), "live": $0.revokedAt == nil, "canRevoke": isAdmin && $0.revokedAt == nil,
             "csrf": viewer.csrf]
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
                          "session": "Session ended."]

    /// `POST /console/access/tokens` (admin): the new token is on the answer, once, and nowhere else.
    @Sendable static func createToken(_ context: RequestContext) throws -> Response {
        let viewer = try Console.viewer(context)
        let form = try Console.change(context, viewer: viewer, needs: .admin)
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        let scopes = Scope.allCases.filter { form["scope.\($0.rawValue)"] == "on" }
        guard !scopes.isEmpty else { throw Console.ConsoleRefusal(status: 422, title: "Not done", text: "A token needs at least one scope.") }
        let token = ServiceToken.generate()
        do {
            try context.audited(actor: viewer.actor, action: "token.create", reason: Console.reason(form)) { db in
                try ServiceTokenStore(db: db).create(name: name, token: token, scopes: scopes, createdBy: viewer.actor)
                return ((), target: "token:\(name)", summary: scopes.map(\.rawValue).joined(separator: ","))  // never the token
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
}
