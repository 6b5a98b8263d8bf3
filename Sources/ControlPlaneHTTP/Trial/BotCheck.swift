import ControlPlaneCore
import Curl
import Foundation

/// The optional bot check on the funnel's costly steps (draft creation, code sends): a token
/// the browser got from a Turnstile- or hCaptcha-compatible widget, sent as `X-Bot-Token`,
/// verified with the provider's `siteverify` (form fields `secret`, `response`, `remoteip`;
/// an answer `{"success": true}`) within an absolute deadline. Missing or refused: 403. The
/// provider unreachable or answering nonsense: 503 — the funnel closes rather than opens.
public struct BotCheck: Sendable {
    public let verifyURL: String
    let secret: String
    let timeoutSeconds: Double

    /// From CONTROLPLANE_TRIAL_BOT_CHECK_URL and …_SECRET (or …_FILE, or the credential); nil when not configured.
    public static func load(_ environment: Environment) throws -> BotCheck? {
        guard let url = environment["CONTROLPLANE_TRIAL_BOT_CHECK_URL"] else { return nil }
        guard url.hasPrefix("https://") || url.hasPrefix("http://127.") || url.hasPrefix("http://localhost") else {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_TRIAL_BOT_CHECK_URL", expected: "an https:// siteverify URL (http only on loopback)")
        }
        guard let secret = try environment.secret("CONTROLPLANE_TRIAL_BOT_CHECK_SECRET"), !secret.isEmpty else {
            throw ConfigurationError.missing("CONTROLPLANE_TRIAL_BOT_CHECK_SECRET")
        }
        let timeout = try environment.double("CONTROLPLANE_TRIAL_BOT_CHECK_TIMEOUT_SECONDS", default: 5)
        guard (0.1...30).contains(timeout) else {
            throw ConfigurationError.invalid(key: "CONTROLPLANE_TRIAL_BOT_CHECK_TIMEOUT_SECONDS", expected: "seconds from 0.1 to 30")
        }
        return BotCheck(verifyURL: url, secret: secret, timeoutSeconds: timeout)
    }

    /// Throws the problem to answer unless the request carries a token the provider accepts.
    func require(_ context: RequestContext) throws {
        guard let token = context.request.headers["x-bot-token"], (1...4096).contains(token.utf8.count) else {
            throw Problem(403, type: .botCheckFailed, detail: "This step needs a bot-check token (X-Bot-Token).")
        }
        var form = "secret=" + URLEncoding.component(secret) + "&response=" + URLEncoding.component(token)
        let address = context.request.remoteAddress
        if !address.isEmpty { form += "&remoteip=" + URLEncoding.component(address) }
        let answer = HTTPTransfer.send(method: "POST", url: verifyURL,
                                       headers: [("content-type", "application/x-www-form-urlencoded"), ("accept", "application/json")],
                                       body: Array(form.utf8), timeoutSeconds: timeoutSeconds, maxResponseBytes: 16 * 1024)
        guard answer.status == 200, let success = Self.success(answer.body) else {
            context.logger.warning("bot check unavailable", ["status": .int(answer.status ?? 0), "error": .string(answer.error ?? "")])
            throw Problem(503, type: .botCheckUnavailable, detail: "The bot check cannot be verified right now; try again shortly.",
                          headers: [("retry-after", "5")])
        }
        guard success else { throw Problem(403, type: .botCheckFailed, detail: "The bot check was not passed.") }
    }

    /// The answer's top-level `success`, when it is a boolean.
    static func success(_ body: [UInt8]) -> Bool? {
        try? JSONScanner.withDocument(body, maxDepth: 8) { scanner, root -> Bool? in
            guard let value = try scanner.members(of: root).first(where: { $0.name == "success" })?.value else { return nil }
            switch scanner.literal(at: value) {
            case "true": return true
            case "false": return false
            default: return nil
            }
        } ?? nil
    }
}
