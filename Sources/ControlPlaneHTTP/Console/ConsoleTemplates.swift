import Mustache

/// The console's pages: Mustache templates (swift-mustache escapes every `{{value}}` for
/// HTML; the layout takes the rendered page body with `{{{body}}}`, the only unescaped
/// value, and it is our own rendering). Compiled into the binary: nothing to install.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        MustacheContentTypes.register(HTMLBytes(), named: HTMLBytes.name)
        var library = MustacheLibrary()
        let pages = [("layout", layout), ("signin", signin), ("message", message), ("confirm", confirm), ("pager", pager),
                     ("overview", overview), ("trials", trials), ("audit", audit), ("tenants", tenants), ("tenant", tenant),
                     ("webhooks", webhooks), ("webhook", webhook), ("messages", messages), ("regions", regions), ("region", region),
                     ("commandTable", commandTable), ("commands", commands), ("adminjobs", adminJobs), ("adminJobTable", adminJobTable),
                     ("nodes", nodes), ("jobs", jobs), ("job", job), ("rules", rules), ("auditTable", auditTable), ("access", access),
                     ("trialLinks", trialLinks), ("draft", draft), ("attemptTable", attemptTable), ("attempts", attempts), ("domains", domains)]
        for (name, text) in pages {
            // A template that does not compile is a programming error caught by every test run.
            // Every template, partials included (they start from the library's HTML escaper), escapes with HTMLBytes.
            try! library.register("{{% CONTENT_TYPE: \(HTMLBytes.name)}}" + text, named: name)
        }
        return library
    }()

    /// The same five characters as swift-mustache's HTML escaping (< > & " '), escaped over UTF-8
    /// bytes instead of Characters: a 50-row page spent about 1.2 ms of its 2 ms escaping values
    /// one Character (and one dictionary lookup) at a time; bytes take a tenth of that.
    struct HTMLBytes: MustacheContentType {
        static let name = "HTML_BYTES"
        func escapeText(_ text: String) -> String {
            var text = text
            return text.withUTF8 { bytes in
                guard bytes.contains(where: { $0 == 0x3C || $0 == 0x3E || $0 == 0x26 || $0 == 0x22 || $0 == 0x27 }) else {
                    return String(decoding: bytes, as: UTF8.self)
                }
                var escaped: [UInt8] = []
                escaped.reserveCapacity(bytes.count + 32)
                for byte in bytes {
                    switch byte {
                    case 0x3C: escaped.append(contentsOf: "&lt;".utf8)
                    case 0x3E: escaped.append(contentsOf: "&gt;".utf8)
                    case 0x26: escaped.append(contentsOf: "&amp;".utf8)
                    case 0x22: escaped.append(contentsOf: "&quot;".utf8)
                    case 0x27: escaped.append(contentsOf: "&#39;".utf8)
                    default: escaped.append(byte)
                    }
                }
                return String(decoding: escaped, as: UTF8.self)
            }
        }
    }

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        {{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">{{/refresh}}
        <title>{{title}} · controlplane console</title>
        <link rel="stylesheet" href="/console/assets/console.css">
        <link rel="icon" href="/console/assets/favicon.svg" type="image/svg+xml">
        </head>
        <body>
        <header>
          <a class="brand" href="/console/">controlplane</a>
          {{#operator}}
          <nav>
            <a href="/console/"{{#overviewActive}} aria-current="page"{{/overviewActive}}>Overview</a>
            <a href="/console/trials"{{#trialsActive}} aria-current="page"{{/trialsActive}}>Trials</a>
            <a href="/console/tenants"{{#tenantsActive}} aria-current="page"{{/tenantsActive}}>Tenants</a>
            <a href="/console/webhooks"{{#webhooksActive}} aria-current="page"{{/webhooksActive}}>Webhooks</a>
            <a href="/console/regions"{{#regionsActive}} aria-current="page"{{/regionsActive}}>Regions</a>
            <a href="/console/nodes"{{#nodesActive}} aria-current="page"{{/nodesActive}}>Nodes</a>
            <a href="/console/jobs"{{#jobsActive}} aria-current="page"{{/jobsActive}}>Jobs</a>
            <a href="/console/commands"{{#commandsActive}} aria-current="page"{{/commandsActive}}>Commands</a>
            <a href="/console/rules"{{#rulesActive}} aria-current="page"{{/rulesActive}}>Rules</a>
            <a href="/console/access"{{#accessActive}} aria-current="page"{{/accessActive}}>Access</a>
            <a href="/console/audit"{{#auditActive}} aria-current="page"{{/auditActive}}>Audit</a>
          </nav>
          <form class="signout" method="post" action="/console/logout">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <span>{{name}} ({{role}})</span> <button type="submit">Sign out</button>
          </form>
          {{/operator}}
        </header>
        <main>
        <h1>{{title}}</h1>
        {{#notice}}<p class="notice">{{notice}}</p>{{/notice}}
        {{{body}}}
        </main>
        </body>
        </html>

        """

    static let message = """
        <p>{{text}}</p>
        """

    static let signin = """
        <p>{{text}}</p>
        <p>Ask for a sign-in link on a machine with database access:</p>
        <pre>cpctl console login-link --operator YOUR-NAME</pre>
        """

    static let confirm = """
        <p class="warning">{{text}}</p>
        <form method="post" action="{{action}}">
          <input type="hidden" name="csrf" value="{{csrf}}">
          {{#fields}}<input type="hidden" name="{{name}}" value="{{value}}">{{/fields}}
          <input type="hidden" name="confirm" value="yes">
          <dl class="facts">{{#shown}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/shown}}</dl>
          <button type="submit" class="danger">Yes, do it</button> <a href="{{back}}">Cancel</a>
        </form>
        """

    static let pager = """
        {{#next}}<p class="pager"><a href="{{next}}" rel="next">Next page →</a></p>{{/next}}
        """

    static let overview = """
        <p class="muted">Refreshes every 30 seconds.</p>
        <section>
          <h2>Waiting for you</h2>
          <ul class="cards">
            <li><a href="/console/trials"><strong>{{trialsWaiting}}</strong> trials to review</a></li>
            <li><a href="/console/commands?status=FAILED"><strong>{{failedCommands}}</strong> failed commands</a></li>
            <li><a href="/console/commands?status=UNACKNOWLEDGED"><strong>{{unacknowledgedCommands}}</strong> unacknowledged commands</a></li>
            <li><a href="/console/nodes?readiness=STALE"><strong>{{staleNodes}}</strong> stale nodes</a></li>
            {{#tenants}}{{#failed}}<li><a href="/console/tenants?status=provisioning_failed"><strong>{{count}}</strong> tenants failed provisioning</a></li>{{/failed}}{{/tenants}}
          </ul>
        </section>
        <section>
          <h2>Outboxes</h2>
          <table>
            <thead><tr><th>Outbox</th><th>Pending</th><th>Oldest waiting</th><th>Dead / failed</th></tr></thead>
            <tbody>{{#outboxes}}<tr><td>{{#link}}<a href="{{link}}">{{name}}</a>{{/link}}{{^link}}{{name}}{{/link}}</td><td>{{pending}}</td><td>{{oldest}}</td><td>{{dead}}</td></tr>{{/outboxes}}</tbody>
          </table>
        </section>
        <section>
          <h2>Regions</h2>
          <table>
            <thead><tr><th>Region</th><th>Health</th><th>Seconds since the last good sweep</th></tr></thead>
            <tbody>
            {{#regions}}<tr><td><a href="/console/regions/{{id}}">{{id}}</a></td><td class="health-{{health}}">{{health}}</td><td>{{behind}}</td></tr>{{/regions}}
            {{^regions}}<tr><td colspan="3">No regions.</td></tr>{{/regions}}
            </tbody>
          </table>
        </section>
        <section class="split">
          <div>
          <h2>Tenants by status</h2>
          <table><tbody>{{#tenants}}<tr><td><a href="/console/tenants?status={{status}}">{{status}}</a></td><td>{{count}}</td></tr>{{/tenants}}
          {{^tenants}}<tr><td>No tenants.</td></tr>{{/tenants}}</tbody></table>
          </div>
          <div>
          <h2>This backend</h2>
          <table><tbody>
          {{#workers}}<tr><td>Workers</td><td>{{busy}} busy, {{idle}} idle of {{threads}}</td></tr><tr><td>Slow requests</td><td>{{slow}}</td></tr>{{/workers}}
          <tr><td>Database reconnects</td><td>{{reconnects}}</td></tr>
          </tbody></table>
          </div>
        </section>
        """

    static let trials = """
        {{>trialLinks}}
        <form class="filters" method="get" action="/console/trials">
          <select name="status" aria-label="Status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}</select>
          <button type="submit">Show</button>
        </form>
        {{#queue}}<p>Submitted drafts, oldest first. Approving creates the tenant and asks for its provisioning.</p>{{/queue}}
        <table>
          <thead><tr><th>Company</th><th>Contact</th><th>Work email</th><th>Country</th><th>Size</th><th>Use case</th><th>Submitted</th><th>Decide</th></tr></thead>
          <tbody>
          {{#drafts}}
          <tr>
            <td><a href="/console/drafts/{{id}}">{{companyName}}</a></td><td>{{contactName}}</td><td>{{workEmail}}</td><td>{{country}}</td><td>{{companySize}}</td>
            <td>{{useCase}}</td><td class="nowrap">{{submittedAt}}</td>
            <td>
              {{#canDecide}}
              <form method="post" action="/console/trials/{{id}}/approve">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <input name="reason" maxlength="500" placeholder="Reason" aria-label="Reason to approve">
                <button type="submit">Approve</button>
              </form>
              <form method="post" action="/console/trials/{{id}}/reject">
                <input type="hidden" name="csrf" value="{{csrf}}">
                <input name="reason" maxlength="500" required placeholder="Reason (required)" aria-label="Reason to reject">
                <button type="submit">Reject</button>
              </form>
              {{/canDecide}}
              {{^canDecide}}{{#queue}}<span class="muted">reviewers decide</span>{{/queue}}{{/canDecide}}
            </td>
          </tr>
          {{/drafts}}
          {{^drafts}}<tr><td colspan="8">Nothing to review.</td></tr>{{/drafts}}
          </tbody>
        </table>
        {{>pager}}
        """

    static let audit = """
        <form class="filters" method="get" action="/console/audit">
          <input name="actor" value="{{actor}}" placeholder="actor (operator:jane)" aria-label="Actor">
          <input name="action" value="{{action}}" placeholder="action (tenant.suspend)" aria-label="Action">
          <input name="target" value="{{target}}" placeholder="target (tenant:…)" aria-label="Target">
          <input name="since" value="{{since}}" placeholder="since (RFC 3339)" aria-label="Since">
          <button type="submit">Search</button>
        </form>
        {{>auditTable}}
        {{>pager}}
        """

    static let auditTable = """
        <table>
          <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Reason</th><th>Summary</th><th>Trace</th></tr></thead>
          <tbody>
          {{#entries}}<tr><td class="nowrap">{{occurredAt}}</td><td class="wrap">{{actor}}</td><td class="nowrap">{{action}}</td><td class="wrap">{{target}}</td><td class="wrap">{{reason}}</td><td class="wrap">{{summary}}</td><td class="trace">{{traceId}}</td></tr>{{/entries}}
          {{^entries}}<tr><td colspan="7">Nothing recorded.</td></tr>{{/entries}}
          </tbody>
        </table>
        """

    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#2457c5"/><path d="M4 8h8M8 4v8" stroke="#fff" stroke-width="2"/></svg>

        """

    static let stylesheet = """
        :root { color-scheme: light dark; --accent: #2457c5; --muted: #777; }
        body { font: 15px/1.45 system-ui, sans-serif; margin: 0; }
        header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid #8884; }
        header .brand { font-weight: 700; text-decoration: none; color: inherit; }
        nav { display: flex; flex-wrap: wrap; gap: .2rem .8rem; } nav a[aria-current] { font-weight: 700; }
        .signout { margin-left: auto; white-space: nowrap; } main { padding: 1rem 1.2rem; max-width: 90rem; }
        table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #8883; vertical-align: top; }
        td form { display: flex; gap: .3rem; margin: .15rem 0; } .cards { display: flex; gap: 1rem; list-style: none; padding: 0; flex-wrap: wrap; }
        .cards li { border: 1px solid #8885; border-radius: .4rem; padding: .6rem .9rem; } .notice { background: #2457c522; padding: .5rem .8rem; }
        .health-DEGRADED { color: #c33; font-weight: 700; } .health-PARTIAL { color: #b80; } .muted { color: var(--muted); }
        pre { background: #8882; padding: .6rem; } td.trace { min-width: 9rem; word-break: break-all; font-size: .85em; }
        td.nowrap, button { white-space: nowrap; } td.wrap { overflow-wrap: anywhere; }
        .filters { display: flex; gap: .4rem; flex-wrap: wrap; margin-bottom: .8rem; } .pager { margin-top: .8rem; }
        .facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } .facts dt { color: var(--muted); }
        .split { display: grid; grid-template-columns: 1fr 1fr; gap: 2rem; } .warning { background: #c331; padding: .5rem .8rem; }
        button.danger { background: #c33; color: #fff; border: 0; padding: .3rem .8rem; border-radius: .2rem; }
        pre.payload { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 24rem; overflow: auto; }
        .actions form { display: inline-flex; gap: .3rem; margin: .2rem .6rem .2rem 0; } ol.attempts { margin: 0; padding-left: 1.2rem; }
        form.settings { display: grid; gap: .5rem; max-width: 48rem; margin: .6rem 0; } form.settings input[name=url] { width: 100%; }
        form.settings fieldset { border: 1px solid #8884; display: flex; flex-wrap: wrap; gap: .2rem 1rem; } form.settings button { justify-self: start; }
        .status-dead, .status-failing, .status-disabled, .status-FAILED, .status-UNACKNOWLEDGED, .status-STALE, .status-provisioning_failed { color: #c33; font-weight: 700; }

        """
}
