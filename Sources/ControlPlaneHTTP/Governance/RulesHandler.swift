import ControlPlaneCore
import FastCGI

/// `GET /control/v1/rules`: the rule table, as the rule engine applies it.
enum RulesHandler {
    @Sendable static func list(_ context: RequestContext) throws -> Response {
        try context.requireControlToken()
        let body = JSONWriter.list(count: GovernanceRules.table.count) { json, index in
            let rule = GovernanceRules.table[index]
            json.beginObject()
            json.key("id"); json.string(rule.id)
            json.key("when"); json.string(rule.when)
            json.key("then"); json.string(rule.then)
            json.endObject()
        }
        return .jsonBytes(body)
    }
}
