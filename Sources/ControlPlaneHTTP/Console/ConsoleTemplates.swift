import Mustache

/// The console's pages: Mustache templates (swift-mustache escapes every `{{value}}` for
/// HTML; the layout takes the rendered page body with `{{{body}}}`, the only unescaped
/// value, and it is our own rendering). Compiled into the binary: nothing to install.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in [("layout", layout), ("signin", signin), ("overview", overview), ("trials", trials), ("audit", audit),
                             ("message", message)] {
            // A template that does not compile is a programming error caught by every test run.
            try! library.register(text, named: name)
        }
        return library
    }()

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
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

    static let overview = """
        <section>
          <h2>Waiting for you</h2>
          <ul class="cards">
            <li><a href="/console/trials"><strong>{{trialsWaiting}}</strong> trials to review</a></li>
            {{#outboxes}}<li><strong>{{pending}}</strong> {{name}} pending</li>{{/outboxes}}
          </ul>
        </section>
        <section>
          <h2>Regions</h2>
          <table>
            <thead><tr><th>Region</th><th>Health</th><th>Seconds since the last good sweep</th></tr></thead>
            <tbody>
            {{#regions}}<tr><td>{{id}}</td><td class="health-{{health}}">{{health}}</td><td>{{behind}}</td></tr>{{/regions}}
            {{^regions}}<tr><td colspan="3">No regions.</td></tr>{{/regions}}
            </tbody>
          </table>
        </section>
        """

    static let trials = """
        <p>Submitted drafts, oldest first. Approving creates the tenant and asks for its provisioning.</p>
        <table>
          <thead><tr><th>Company</th><th>Contact</th><th>Work email</th><th>Country</th><th>Size</th><th>Use case</th><th>Submitted</th><th>Decide</th></tr></thead>
          <tbody>
          {{#drafts}}
          <tr>
            <td>{{companyName}}</td><td>{{contactName}}</td><td>{{workEmail}}</td><td>{{country}}</td><td>{{companySize}}</td>
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
              {{^canDecide}}<span class="muted">reviewers decide</span>{{/canDecide}}
            </td>
          </tr>
          {{/drafts}}
          {{^drafts}}<tr><td colspan="8">Nothing to review.</td></tr>{{/drafts}}
          </tbody>
        </table>
        """

    static let audit = """
        <p>Every change, from every surface, newest first (the last 200).</p>
        <table>
          <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Reason</th><th>Summary</th><th>Trace</th></tr></thead>
          <tbody>
          {{#entries}}<tr><td class="nowrap">{{occurredAt}}</td><td class="wrap">{{actor}}</td><td class="nowrap">{{action}}</td><td class="wrap">{{target}}</td><td class="wrap">{{reason}}</td><td class="wrap">{{summary}}</td><td class="trace">{{traceId}}</td></tr>{{/entries}}
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
        nav a { margin-right: 1rem; } nav a[aria-current] { font-weight: 700; }
        .signout { margin-left: auto; } main { padding: 1rem 1.2rem; max-width: 90rem; }
        table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #8883; vertical-align: top; }
        td form { display: flex; gap: .3rem; margin: .15rem 0; } .cards { display: flex; gap: 1rem; list-style: none; padding: 0; flex-wrap: wrap; }
        .cards li { border: 1px solid #8885; border-radius: .4rem; padding: .6rem .9rem; } .notice { background: #2457c522; padding: .5rem .8rem; }
        .health-DEGRADED { color: #c33; font-weight: 700; } .health-PARTIAL { color: #b80; } .muted { color: var(--muted); }
        pre { background: #8882; padding: .6rem; } td.trace { min-width: 9rem; word-break: break-all; font-size: .85em; }
        td.nowrap, button { white-space: nowrap; } td.wrap { overflow-wrap: anywhere; }

        """
}
