/// Templates of the trial pages beyond the queue (see ConsoleTemplates for the rules).
extension ConsoleTemplates {
    static let trialLinks = """
        <p><a href="/console/trials">Review queue</a> · <a href="/console/signup-attempts">Signup attempts</a> · <a href="/console/domains">Domain dictionary</a></p>
        """

    static let draft = """
        {{>trialLinks}}
        <dl class="facts">{{#facts}}<dt>{{name}}</dt><dd>{{value}}</dd>{{/facts}}
          {{#tenantId}}<dt>Tenant</dt><dd><a href="/console/tenants/{{tenantId}}">{{tenantId}}</a></dd>{{/tenantId}}</dl>
        <h2>Steps</h2>
        {{>attemptTable}}
        <h2>Decisions</h2>
        {{>auditTable}}
        """

    static let attemptTable = """
        <table>
          <thead><tr><th>When</th><th>Step</th><th>Domain</th><th>Outcome</th><th>Draft</th><th>Trace</th></tr></thead>
          <tbody>{{#attempts}}<tr><td class="nowrap">{{occurredAt}}</td><td>{{step}}</td><td>{{domain}}</td><td>{{outcome}}</td><td class="trace">{{#draftId}}<a href="/console/drafts/{{draftId}}">{{draftId}}</a>{{/draftId}}</td><td class="trace">{{traceId}}</td></tr>{{/attempts}}
          {{^attempts}}<tr><td colspan="6">No attempts.</td></tr>{{/attempts}}</tbody>
        </table>
        """

    static let attempts = """
        {{>trialLinks}}
        <form class="filters" method="get" action="/console/signup-attempts">
          <input name="step" value="{{step}}" placeholder="step (email_check)" aria-label="Step">
          <input name="outcome" value="{{outcome}}" placeholder="outcome" aria-label="Outcome">
          <input name="domain" value="{{domain}}" placeholder="email domain" aria-label="Domain">
          <input name="since" value="{{since}}" placeholder="since (RFC 3339)" aria-label="Since">
          <button type="submit">Filter</button>
        </form>
        {{>attemptTable}}
        {{>pager}}
        """

    static let domains = """
        {{>trialLinks}}
        <form class="filters" method="get" action="/console/domains">
          <input name="q" value="{{q}}" placeholder="domain contains" aria-label="Search">
          <select name="kind" aria-label="Kind"><option value="">any kind</option>{{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/kinds}}</select>
          <button type="submit">Search</button>
        </form>
        {{#canAct}}
        <form class="filters" method="post" action="/console/domains">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <input name="domain" required placeholder="domain (Unicode or xn--)" aria-label="Domain to add">
          <select name="kind" aria-label="Kind to add">{{#kinds}}<option value="{{value}}">{{value}}</option>{{/kinds}}</select>
          <input name="reason" maxlength="500" placeholder="Reason" aria-label="Reason to add"><button type="submit">Add or change</button>
        </form>
        {{/canAct}}
        <table>
          <thead><tr><th>Domain</th><th>Kind</th><th>Source</th><th>Added by</th><th>Added</th><th></th></tr></thead>
          <tbody>{{#domains}}<tr><td>{{domain}}</td><td>{{kind}}</td><td>{{source}}</td><td class="wrap">{{addedBy}}</td><td class="nowrap">{{addedAt}}</td>
            <td>{{#canAct}}<form method="post" action="/console/domains/{{domain}}/remove"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Remove</button></form>{{/canAct}}</td></tr>{{/domains}}
          {{^domains}}<tr><td colspan="6">No domain matches.</td></tr>{{/domains}}</tbody>
        </table>
        {{>pager}}
        {{#canAct}}
        <h2>Import a list</h2>
        <form method="post" action="/console/domains/import">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <p><textarea name="domains" rows="6" cols="60" required placeholder="one domain a line; # starts a comment" aria-label="Domains"></textarea></p>
          <select name="kind" aria-label="Kind to import">{{#kinds}}<option value="{{value}}">{{value}}</option>{{/kinds}}</select>
          <input name="reason" maxlength="500" placeholder="Reason" aria-label="Reason to import"><button type="submit">Import</button>
        </form>
        {{/canAct}}
        """
}
