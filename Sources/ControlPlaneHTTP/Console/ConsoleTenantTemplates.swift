/// Templates of the tenant, webhook and access pages (see ConsoleTemplates for the rules).
extension ConsoleTemplates {
    static let tenants = """
        <form class="filters" method="get" action="/console/tenants">
          <input name="q" value="{{q}}" placeholder="slug, name or contact domain" aria-label="Search">
          <select name="status" aria-label="Status"><option value="">any status</option>
            {{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}</select>
          <button type="submit">Search</button>
        </form>
        <table>
          <thead><tr><th>Name</th><th>Slug</th><th>Status</th><th>Plan</th><th>Connector</th><th>Updated</th></tr></thead>
          <tbody>
          {{#tenants}}<tr><td><a href="/console/tenants/{{id}}">{{displayName}}</a></td><td>{{slug}}</td><td class="status-{{status}}">{{status}}</td><td>{{plan}}</td><td>{{connectorKind}}</td><td class="nowrap">{{updatedAt}}</td></tr>{{/tenants}}
          {{^tenants}}<tr><td colspan="6">No tenant matches.</td></tr>{{/tenants}}
          </tbody>
        </table>
        {{>pager}}
        """

    static let tenant = """
        <dl class="facts">
          <dt>Slug</dt><dd>{{slug}}</dd><dt>Status</dt><dd class="status-{{status}}">{{status}}</dd><dt>Plan</dt><dd>{{plan}}</dd>
          <dt>Site</dt><dd>{{siteHostname}}</dd><dt>Id</dt><dd>{{id}}</dd><dt>Created</dt><dd>{{createdAt}}</dd><dt>Updated</dt><dd>{{updatedAt}}</dd>
          <dt>Connector</dt><dd>{{connectorKind}}{{^connectorKind}}none{{/connectorKind}}</dd>
          <dt>Credential reference</dt><dd>{{credentialRef}}{{^credentialRef}}none{{/credentialRef}} <span class="muted">(a reference to a secret store; never the credential)</span></dd>
        </dl>
        {{#canAct}}
        <section class="actions">
          <h2>Actions</h2>
          {{#actions}}
          <form method="post" action="/console/tenants/{{id}}/{{path}}">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <input name="reason" maxlength="500" {{#reasonRequired}}required placeholder="Reason (required)"{{/reasonRequired}}{{^reasonRequired}}placeholder="Reason"{{/reasonRequired}} aria-label="Reason to {{label}}">
            <button type="submit">{{label}}</button>
          </form>
          {{/actions}}
          {{^actions}}<p class="muted">No action applies to a tenant that is {{status}}.</p>{{/actions}}
        </section>
        {{/canAct}}
        <h2>Timeline</h2>
        <table>
          <thead><tr><th>When</th><th>From</th><th>To</th><th>Actor</th><th>Reason</th></tr></thead>
          <tbody>{{#events}}<tr><td class="nowrap">{{occurredAt}}</td><td>{{from}}</td><td>{{to}}</td><td class="wrap">{{actor}}</td><td class="wrap">{{reason}}</td></tr>{{/events}}</tbody>
        </table>
        <h2>Webhook deliveries about this tenant</h2>
        {{>messages}}
        """

    static let webhooks = """
        <table>
          <thead><tr><th>URL</th><th>Events</th><th>State</th><th>Failing since</th><th>Next probe</th><th>Backlog</th><th>Created</th></tr></thead>
          <tbody>
          {{#endpoints}}<tr><td class="wrap"><a href="/console/webhooks/{{id}}">{{url}}</a></td><td class="wrap">{{events}}</td><td class="status-{{state}}">{{state}}</td><td class="nowrap">{{failingSince}}</td><td class="nowrap">{{nextAttemptAt}}</td><td>{{backlog}}</td><td class="nowrap">{{createdAt}}</td></tr>{{/endpoints}}
          {{^endpoints}}<tr><td colspan="7">No endpoints.</td></tr>{{/endpoints}}
          </tbody>
        </table>
        {{>pager}}
        {{#canCreate}}
        <h2>New endpoint</h2>
        <form class="settings" method="post" action="/console/webhooks">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>URL <input name="url" type="url" required maxlength="2000" placeholder="https://receiver.example/hooks"></label>
          <fieldset><legend>Events</legend>{{#eventChoices}}<label><input type="checkbox" name="event.{{value}}"{{#checked}} checked{{/checked}}> {{label}}</label> {{/eventChoices}}</fieldset>
          <label>Description <input name="description" maxlength="500"></label>
          <button type="submit">Create endpoint</button>
        </form>
        <p class="muted">The signing secret is shown once, on the next page.</p>
        {{/canCreate}}
        """

    static let messages = """
        <table>
          <thead><tr><th>Message</th><th>Event</th><th>Status</th><th>Attempts</th><th>Created</th><th>Delivered / next attempt</th><th>Last error</th><th></th></tr></thead>
          <tbody>
          {{#messages}}<tr>
            <td class="trace"><a href="/console/webhooks/{{endpointId}}">{{messageId}}</a></td><td>{{eventType}}</td><td class="status-{{status}}">{{status}}</td>
            <td>{{attempts}}{{#hasAttempts}}<ol class="attempts">{{#attemptList}}<li>{{at}}: {{outcome}} ({{ms}} ms)</li>{{/attemptList}}</ol>{{/hasAttempts}}</td>
            <td class="nowrap">{{createdAt}}</td><td class="nowrap">{{when}}</td><td class="wrap">{{lastError}}</td>
            <td>{{#canResend}}<form method="post" action="/console/webhooks/{{endpointId}}/messages/{{id}}/resend"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Resend</button></form>{{/canResend}}</td>
          </tr>{{/messages}}
          {{^messages}}<tr><td colspan="8">No messages.</td></tr>{{/messages}}
          </tbody>
        </table>
        """

    static let webhook = """
        {{#newSecret}}<p class="notice">The signing secret: copy it to the receiver now, it is not shown again.</p>
        <pre class="payload" id="new-secret">{{newSecret}}</pre>{{/newSecret}}
        <dl class="facts"><dt>URL</dt><dd>{{url}}</dd><dt>Events</dt><dd>{{events}}</dd><dt>Description</dt><dd>{{description}}</dd>
          <dt>Id</dt><dd>{{id}}</dd><dt>Created</dt><dd>{{createdAt}}</dd>
          <dt>State</dt><dd class="status-{{state}}">{{state}}{{#disabled}} ({{disabledReason}}){{/disabled}}</dd>
          {{#failing}}<dt>Failing since</dt><dd>{{failingSince}}, {{failures}} attempts in a row; the backlog waits for the next probe at {{nextAttemptAt}}</dd>{{/failing}}
          <dt>Backlog</dt><dd>{{backlog}} pending</dd></dl>
        {{#canAct}}
        <div class="actions">
          <form method="post" action="/console/webhooks/{{id}}/{{#disabled}}enable{{/disabled}}{{^disabled}}disable{{/disabled}}">
            <input type="hidden" name="csrf" value="{{csrf}}"><input name="reason" maxlength="500" placeholder="Reason" aria-label="Reason">
            <button type="submit">{{#disabled}}Enable{{/disabled}}{{^disabled}}Disable{{/disabled}}</button>
          </form>
          {{^disabled}}<form method="post" action="/console/webhooks/{{id}}/test"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Send test event</button></form>{{/disabled}}
          <form method="post" action="/console/webhooks/{{id}}/recover">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Dead messages since <input name="since" required maxlength="35" value="{{recoverSince}}" aria-label="Recover dead messages since (RFC 3339)"></label>
            <button type="submit">Recover</button>
          </form>
          {{#isAdmin}}
          <form method="post" action="/console/webhooks/{{id}}/rotate-secret"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Rotate secret</button></form>
          <form method="post" action="/console/webhooks/{{id}}/delete">
            <input type="hidden" name="csrf" value="{{csrf}}"><input name="reason" required maxlength="500" placeholder="Reason (required)" aria-label="Reason to delete">
            <button type="submit">Delete</button>
          </form>
          {{/isAdmin}}
        </div>
        <details><summary>Settings</summary>
        <form class="settings" method="post" action="/console/webhooks/{{id}}/settings">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <label>URL <input name="url" type="url" required maxlength="2000" value="{{url}}"></label>
          <fieldset><legend>Events</legend>{{#eventChoices}}<label><input type="checkbox" name="event.{{value}}"{{#checked}} checked{{/checked}}> {{label}}</label> {{/eventChoices}}</fieldset>
          <label>Description <input name="description" maxlength="500" value="{{description}}"></label>
          <button type="submit">Save settings</button>
        </form>
        </details>
        {{/canAct}}
        <h2>Messages</h2>
        <form class="filters" method="get" action="/console/webhooks/{{id}}">
          <select name="status" aria-label="Status"><option value="">any status</option>
            {{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}</select>
          <button type="submit">Filter</button>
        </form>
        {{>messages}}
        {{>pager}}
        """

    static let access = """
        {{#created}}<p class="notice">Token <strong>{{name}}</strong> created. Copy it now: it is not shown again.</p>
        <pre class="payload" id="new-token">{{token}}</pre>{{/created}}
        <h2>Service tokens</h2>
        <table>
          <thead><tr><th>Name</th><th>Starts with</th><th>State</th><th>Scopes</th><th>Expires</th><th>Last used</th><th>Limits</th><th>Requests today</th><th>Created</th><th></th></tr></thead>
          <tbody>
          {{#tokens}}<tr><td>{{name}}</td><td class="nowrap">{{hint}}</td><td class="status-{{state}}">{{state}}</td><td>{{scopes}}</td>
            <td class="nowrap">{{expiresAt}}</td><td class="nowrap">{{lastUsedAt}}</td><td>{{limits}}</td><td>{{usedToday}}{{#hasLimited}} ({{limitedToday}} refused){{/hasLimited}}</td><td class="nowrap">{{createdAt}}</td>
            <td>{{#canRevoke}}<details><summary>Change</summary>{{/canRevoke}}{{#canLimit}}<form method="post" action="/console/access/tokens/{{name}}/limits"><input type="hidden" name="csrf" value="{{csrf}}"><input name="rateLimit" size="8" maxlength="20" value="{{rate}}" placeholder="5/s" aria-label="Rate limit of {{name}}"><input name="dailyQuota" size="9" maxlength="13" value="{{quota}}" placeholder="daily quota" aria-label="Daily quota of {{name}}"><button type="submit">Set limits</button></form>{{/canLimit}}
            {{#canRevoke}}<form method="post" action="/console/access/tokens/{{name}}/revoke"><input type="hidden" name="csrf" value="{{csrf}}"><input name="reason" required maxlength="500" placeholder="Reason (required)" aria-label="Reason to revoke {{name}}"><button type="submit">Revoke</button></form></details>{{/canRevoke}}</td></tr>{{/tokens}}
          {{^tokens}}<tr><td colspan="10">No tokens.</td></tr>{{/tokens}}
          </tbody>
        </table>
        {{#isAdmin}}
        <form class="filters" method="post" action="/console/access/tokens">
          <input type="hidden" name="csrf" value="{{csrf}}">
          <input name="name" required maxlength="63" placeholder="token name" aria-label="Token name">
          {{#scopes}}<label><input type="checkbox" name="scope.{{.}}"> {{.}}</label>{{/scopes}}
          <input name="expiresIn" size="14" maxlength="12" placeholder="expires in (90d)" aria-label="Expires in">
          <input name="rateLimit" size="8" maxlength="20" placeholder="rate (5/s)" aria-label="Rate limit">
          <input name="dailyQuota" size="10" maxlength="13" placeholder="daily quota" aria-label="Daily quota">
          <button type="submit">Create token</button>
        </form>
        {{/isAdmin}}
        <h2>Operators</h2>
        <table>
          <thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Since</th><th>State</th></tr></thead>
          <tbody>{{#operators}}<tr><td>{{name}}</td><td>{{email}}</td><td>{{role}}</td><td class="nowrap">{{createdAt}}</td><td>{{#disabled}}disabled{{/disabled}}{{^disabled}}active{{/disabled}}</td></tr>{{/operators}}</tbody>
        </table>
        <p class="muted">Operators are added, given roles and disabled with <code>cpctl operators</code>.</p>
        <h2>Sessions</h2>
        <table>
          <thead><tr><th>Operator</th><th>Started</th><th>Last seen</th><th>Browser</th><th>State</th><th></th></tr></thead>
          <tbody>{{#sessions}}<tr><td>{{operator}}{{#yours}} (you){{/yours}}</td><td class="nowrap">{{createdAt}}</td><td class="nowrap">{{lastSeenAt}}</td><td class="wrap">{{userAgent}}</td><td>{{#ended}}ended{{/ended}}{{^ended}}live{{/ended}}</td>
            <td>{{#canRevoke}}<form method="post" action="/console/access/sessions/{{id}}/revoke"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">End</button></form>{{/canRevoke}}</td></tr>{{/sessions}}</tbody>
        </table>
        <h2>Signing keys (JWKS)</h2>
        <p class="muted">Key ids registries see in <code>/internal/.well-known/jwks.json</code>; the first signs.</p>
        <ul>{{#kids}}<li class="trace">{{.}}</li>{{/kids}}{{^kids}}<li>No signing key configured.</li>{{/kids}}</ul>
        """
}
