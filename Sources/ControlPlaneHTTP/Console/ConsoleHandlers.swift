import ControlPlaneCore
import FastCGI
import Foundation
import OpenSSLCrypto

/// The operator console under `/console/` (internal server only): server-rendered pages for a
/// signed-in operator. Reads need a session; every change is a POST with the session's CSRF
/// token and a same-origin check, is allowed by role on the server, and writes an audit row.
enum ConsoleHandlers {
    // MARK: who is asking

    struct Viewer {
        let sessionId: Int64
        let person: OperatorStore.Row
        let csrf: String
        var actor: String { "operator:\(person.name)" }
    }

    static func cookieName(_ request: Request) -> String { request.isTLS ? "__Host-cp_console" : "cp_console" }

    static func sessionToken(_ request: Request) -> String? {
        guard let header = request.headers["cookie"] else { return nil }
        let name = cookieName(request)
        for part in header.split(separator: ";") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            if pair.hasPrefix(name + "=") { return String(pair.dropFirst(name.count + 1)) }
        }
        return nil
    }

    /// The signed-in operator, or a page asking to sign in (401). With proxy sign-in configured,
    /// the operator nginx authenticated is the one signed in: a GET without their session opens
    /// one and comes back to the same page (a session of someone else is ended first).
    static func viewer(_ context: RequestContext) throws -> Viewer {
        let viewer = try signedInViewer(context)
        context.noteActor(viewer.actor)
        return viewer
    }

    private static func signedInViewer(_ context: RequestContext) throws -> Viewer {
        let current = try session(context)
        guard context.settings.consoleProxySignIn, let proxied = context.request.proxyOperator else {
            if let current { return current }
            throw ConsoleRefusal(status: 401, title: "Sign in", text: "You are not signed in, or your session has ended.", signIn: true)
        }
        if let current, current.person.name == proxied { return current }
        if let current { try ConsoleSessionStore(db: context.database).revoke(current.sessionId) }
        guard context.request.method == "GET" else {
            throw ConsoleRefusal(status: 401, title: "Sign in", text: "Your session has ended: reload the page and try again.")
        }
        let opened: ConsoleSignIn.Session
        do {
            opened = try ConsoleSignIn(db: context.database).signIn(proxyOperator: proxied, userAgent: context.request.headers["user-agent"],
                                                                    traceId: context.traceId)
        } catch let failure as ConsoleSignIn.Failure {
            throw ConsoleRefusal(status: 403, title: "Not an operator", text: failure.problem.detail ?? "")
        }
        let query = context.request.query.isEmpty ? "" : "?" + context.request.query
        throw SignedIn(location: context.request.path + query, cookie: sessionCookie(context.request, token: opened.token))
    }

    /// The operator of the session the cookie names, when it is live and the operator enabled.
    static func session(_ context: RequestContext) throws -> Viewer? {
        guard let token = sessionToken(context.request), token.hasPrefix(ConsoleSignIn.sessionPrefix), token.utf8.count < 100,
              let session = try ConsoleSessionStore(db: context.database).live(
                tokenHash: SHA256.hash(token), idleSeconds: ConsoleSignIn.idleSeconds, absoluteSeconds: ConsoleSignIn.absoluteSeconds),
              let person = try OperatorStore(db: context.database).get(session.operatorId), person.disabledAt == nil else {
            return nil
        }
        if session.idleSeconds > 60 { try ConsoleSessionStore(db: context.database).touch(session.id) }
        return Viewer(sessionId: session.id, person: person, csrf: session.csrfToken)
    }

    /// A session just opened for the proxy's operator: set its cookie and load the page again.
    struct SignedIn: Error { let location: String, cookie: String }

    static func sessionCookie(_ request: Request, token: String) -> String {
        let secure = request.isTLS ? "; Secure" : ""
        return "\(cookieName(request))=\(token); Path=/; HttpOnly; SameSite=Strict\(secure); Max-Age=\(ConsoleSignIn.absoluteSeconds)"
    }

    /// A state-changing request: a POST form from this console (same origin) carrying the
    /// session's CSRF token, by an operator whose role allows it. Returns the form's fields.
    static func change(_ context: RequestContext, viewer: Viewer, needs role: OperatorStore.Role) throws -> [String: String] {
        let request = context.request
        if let site = request.headers["sec-fetch-site"], site != "same-origin" {
            throw ConsoleRefusal(status: 403, title: "Refused", text: "Changes are accepted only from the console's own pages.")
        }
        if let origin = request.headers["origin"] {
            let host = request.headers["host"] ?? ""
            // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` even from our own
            // pages; they then also send Sec-Fetch-Site, which must say same-origin (above).
            let sameOrigin = origin == "https://\(host)" || origin == "http://\(host)"
                || (origin == "null" && request.headers["sec-fetch-site"] == "same-origin")
            guard sameOrigin else {
                throw ConsoleRefusal(status: 403, title: "Refused", text: "Changes are accepted only from the console's own pages.")
            }
        }
        let form = formFields(request)
        guard let csrf = form["csrf"], constantTimeEquals(Array(csrf.utf8), Array(viewer.csrf.utf8)) else {
            throw ConsoleRefusal(status: 403, title: "Refused", text: "The form is missing its security token: reload the page and try again.")
        }
        guard viewer.person.role >= role else {
            throw ConsoleRefusal(status: 403, title: "Not allowed", text: "This needs the \(role.rawValue) role; you are \(viewer.person.roleName).")
        }
        return form
    }

    /// `application/x-www-form-urlencoded` fields (the last of a repeated name).
    static func formFields(_ request: Request) -> [String: String] {
        guard request.headers["content-type"]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else { return [:] }
        var fields: [String: String] = [:]
        for pair in request.body.split(separator: UInt8(ascii: "&")) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(Substring(decoding: parts[0], as: UTF8.self))
            fields[name] = parts.count > 1 ? PercentDecoding.decode(Substring(decoding: parts[1], as: UTF8.self)) : ""
        }
        return fields
    }

    // MARK: responses

    /// A refusal shown as a console page (never JSON: a browser is asking).
    struct ConsoleRefusal: Error {
        let status: Int, title: String, text: String
        var signIn = false
    }

    static let securityHeaders: [(String, String)] = [
        ("content-security-policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"),
        ("cache-control", "no-store"), ("x-frame-options", "DENY"), ("referrer-policy", "no-referrer"),
    ]

    static func page(_ template: String, title: String, viewer: Viewer?, data: [String: Any], status: Int = 200,
                     active: String? = nil, notice: String? = nil, refreshSeconds: Int? = nil) -> Response {
        // An absent optional (a last page's `next`) is left out, so a section on it stays closed.
        let present = data.filter { _, value in
            let mirror = Mirror(reflecting: value)
            return mirror.displayStyle != .optional || !mirror.children.isEmpty
        }
        let body = ConsoleTemplates.library.render(present, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "body": body]
        if let viewer {
            var person: [String: Any] = ["name": viewer.person.name, "role": viewer.person.roleName, "csrf": viewer.csrf]
            if let active { person[active + "Active"] = true }
            layout["operator"] = person
        }
        if let notice { layout["notice"] = notice }
        if let refreshSeconds { layout["refresh"] = refreshSeconds }  // a meta refresh: no script, works with JavaScript off
        let html = ConsoleTemplates.library.render(layout, withTemplate: "layout") ?? ""
        var headers = HTTPHeaders(securityHeaders)
        headers.add("content-type", "text/html; charset=utf-8")
        return Response(status: status, headers: headers, body: Array(html.utf8))
    }

    /// The link to a list's next page, keeping its filters (nil on the last page).
    static func nextPage(_ path: String, filters: [(String, String?)], cursor: PageCursor?) -> String? {
        guard let cursor else { return nil }
        let query = filters.compactMap { name, value in value.map { "\(name)=\(URLEncoding.component($0))" } } + ["cursor=\(cursor.encoded)"]
        return path + "?" + query.joined(separator: "&")
    }

    /// The notice a redirect named (`?done=…`), read as one of the page's query parameters.
    static func notice(_ query: inout QueryParameters, _ notices: [String: String]) -> String? {
        query.string("done").flatMap { notices[$0] }
    }

    /// A form's reason, trimmed (nil when blank), at most 500 characters.
    static func reason(_ form: [String: String]) -> String? {
        form["reason"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : String($0.prefix(500)) }
    }

    /// A reason the change cannot go without (422 page otherwise).
    static func requiredReason(_ form: [String: String], for what: String) throws -> String {
        guard let reason = reason(form) else { throw ConsoleRefusal(status: 422, title: "Not done", text: "\(what) needs a reason.") }
        return reason
    }

    /// High-impact changes take a second step: the first post answers this page, which says what
    /// will happen and posts the same fields again with `confirm=yes` (no script needed).
    static func confirmation(_ form: [String: String], action: String, back: String, title: String, text: String, viewer: Viewer) -> Response {
        let fields = form.filter { $0.key != "csrf" && $0.key != "confirm" }.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] }
        let shown = fields.filter { !($0["value"] ?? "").isEmpty && $0["name"] != "idempotencyKey" }
        return page("confirm", title: title, viewer: viewer,
                    data: ["text": text, "action": action, "fields": fields, "shown": shown, "csrf": viewer.csrf, "back": back])
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers = HTTPHeaders(securityHeaders)
        headers.add("location", location)
        if let cookie { headers.add("set-cookie", cookie) }
        return Response(status: 303, headers: headers)
    }

    /// Runs a page handler; a refusal becomes its page.
    static func guarded(_ body: @escaping @Sendable (RequestContext) throws -> Response) -> @Sendable (RequestContext) throws -> Response {
        { context in
            do {
                return try body(context)
            } catch let signedIn as SignedIn {
                return redirect(signedIn.location, cookie: signedIn.cookie)
            } catch let refusal as ConsoleRefusal {
                return page(refusal.signIn ? "signin" : "message", title: refusal.title, viewer: nil, data: ["text": refusal.text],
                            status: refusal.status)
            } catch let failure as ProblemConvertible {
                let problem = failure.problem
                // Field problems name the field and say what it must be, as the form's user needs.
                let text = problem.invalidParams.isEmpty ? problem.detail ?? problem.type.rawValue
                    : problem.invalidParams.map { "\($0.name) \($0.reason)." }.joined(separator: " ")
                return page("message", title: "Not done", viewer: nil, data: ["text": text], status: problem.status)
            }
        }
    }

    // MARK: sign-in

    @Sendable static func login(_ context: RequestContext) throws -> Response {
        let token = context.request.queryValue("token") ?? ""
        let session: ConsoleSignIn.Session
        do {
            session = try ConsoleSignIn(db: context.database).signIn(linkToken: token, userAgent: context.request.headers["user-agent"],
                                                                     traceId: context.traceId)
        } catch let failure as ConsoleSignIn.Failure {
            throw ConsoleRefusal(status: 403, title: "Sign in", text: failure.problem.detail ?? "", signIn: true)
        }
        return redirect("/console/", cookie: sessionCookie(context.request, token: session.token))
    }

    @Sendable static func logout(_ context: RequestContext) throws -> Response {
        let viewer = try viewer(context)
        _ = try change(context, viewer: viewer, needs: .viewer)
        try context.database.transaction { db in
            try ConsoleSessionStore(db: db).revoke(viewer.sessionId)
            try AuditLogStore(db: db).record(.init(actor: viewer.actor, traceId: context.traceId, action: "console.sign_out",
                                                   target: "operator:\(viewer.person.name)"))
        }
        let secure = context.request.isTLS ? "; Secure" : ""
        return redirect("/console/", cookie: "\(cookieName(context.request))=; Path=/; HttpOnly; SameSite=Strict\(secure); Max-Age=0")
    }

    // MARK: shared by the pages

    /// `2026-12-02 00:25:22.991955+00` → `2026-12-02 00:25:22 UTC` (sessions run in UTC).
    /// `42 s`, `7 min`, `3 h`, `2 d`: an age at a glance.
    static func duration(_ seconds: Int) -> String {
        switch seconds {
        case ..<120: "\(max(0, seconds)) s"
        case ..<7200: "\(seconds / 60) min"
        case ..<172_800: "\(seconds / 3600) h"
        default: "\(seconds / 86_400) d"
        }
    }

    static func shortTime(_ text: String?) -> String {
        guard let text, text.utf8.count >= 19 else { return text ?? "" }
        return String(text.prefix(19)) + " UTC"
    }

    static func auditEntry(_ entry: AuditLogStore.Row) -> [String: String] {
        ["occurredAt": shortTime(entry.occurredAt), "actor": entry.actor, "action": entry.action, "target": entry.target ?? "",
         "reason": entry.reason ?? "", "summary": entry.summary ?? "", "traceId": entry.traceId ?? ""]
    }

    @Sendable static func stylesheet(_ context: RequestContext) throws -> Response {
        asset(ConsoleTemplates.stylesheet, type: "text/css; charset=utf-8")
    }

    @Sendable static func favicon(_ context: RequestContext) throws -> Response {
        asset(ConsoleTemplates.favicon, type: "image/svg+xml")
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPHeaders(securityHeaders.filter { $0.0 != "cache-control" })
        headers.add("content-type", type)
        headers.add("cache-control", "max-age=300")
        return Response(status: 200, headers: headers, body: Array(text.utf8))
    }
}
