/// Templates of the governance pages (see ConsoleTemplates for the rules).
extension ConsoleTemplates {
    static let regions = """
        <table>
          <thead><tr><th>Region</th><th>Health</th><th>Enabled</th><th>Routed to</th><th>Last sweep</th><th>Outcome</th><th>Last good sweep</th></tr></thead>
          <tbody>
          {{#regions}}<tr><td><a href="/console/regions/{{id}}">{{id}}</a></td><td class="health-{{health}}">{{health}}</td><td>{{#enabled}}yes{{/enabled}}{{^enabled}}no{{/enabled}}{{#dryRun}} (dry run){{/dryRun}}</td><td>{{routedTo}}</td><td class="nowrap">{{lastSweep}}</td><td>{{lastOutcome}}</td><td class="nowrap">{{lastGood}}</td></tr>{{/regions}}
          {{^regions}}<tr><td colspan="7">No regions: add one with <code>cpctl regions add</code> or the control API.</td></tr>{{/regions}}
          </tbody>
        </table>
        """

    static let region = """
        <dl class="facts">
          <dt>Registry</dt><dd>{{baseUrl}}</dd><dt>Health</dt><dd class="health-{{health}}">{{health}} {{healthReason}} <span class="muted">since {{healthChangedAt}}</span></dd>
          <dt>Partner routing</dt><dd>{{routedTo}}{{^routedTo}}none{{/routedTo}}</dd><dt>Cursor</dt><dd>{{cursor}}</dd><dt>Last good sweep</dt><dd>{{lastGood}}</dd>
          <dt>Settings</dt><dd>{{#enabled}}enabled{{/enabled}}{{^enabled}}disabled{{/enabled}}{{#dryRun}}, dry run{{/dryRun}}; pages of {{pageSize}}, {{requestsPerSecond}} requests/s, at most {{maxRecordsPerRun}} records and {{sweepBudgetSeconds}} s a run</dd>
        </dl>
        <p><a href="/console/nodes?region={{id}}">Nodes</a> · <a href="/console/jobs?region={{id}}">Jobs</a> · <a href="/console/commands?region={{id}}">Commands</a> · <a href="/console/admin-jobs?region={{id}}">Admin jobs</a></p>
        {{#canAct}}
        <section class="actions">
          <h2>Act</h2>
          <form method="post" action="/console/regions/{{id}}/sync">
            <input type="hidden" name="csrf" value="{{csrf}}"><input name="reason" maxlength="500" placeholder="Reason" aria-label="Reason to sync now">
            <button type="submit">Sync now</button>
          </form>
          <form method="post" action="/console/commands" class="command">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="region" value="{{id}}">
            <select name="kind" aria-label="Command">{{#kinds}}<option value="{{.}}">{{.}}</option>{{/kinds}}</select>
            <input name="target" required maxlength="200" placeholder="queue, node or partner" aria-label="Target">
            <input name="capacity" inputmode="numeric" placeholder="capacity (queue)" aria-label="Capacity">
            <input name="routeTo" placeholder="route to region (partner)" aria-label="Route to">
            <input name="reason" required maxlength="500" placeholder="Reason (required)" aria-label="Reason for the command">
            <button type="submit">Issue</button>
          </form>
        </section>
        {{/canAct}}
        <h2>Sweep runs</h2>
        <table>
          <thead><tr><th>Started</th><th>Trigger</th><th>Pages</th><th>Records</th><th>Revisions</th><th>Bytes</th><th>Duration</th><th>Outcome</th><th>Error</th></tr></thead>
          <tbody>{{#runs}}<tr><td class="nowrap">{{startedAt}}</td><td>{{trigger}}</td><td>{{pages}}</td><td>{{records}}</td><td>{{revisions}}</td><td>{{bytes}}</td><td>{{duration}}</td><td class="status-{{outcome}}">{{outcome}}</td><td class="wrap">{{error}}</td></tr>{{/runs}}
          {{^runs}}<tr><td colspan="9">No sweep yet.</td></tr>{{/runs}}</tbody>
        </table>
        {{>pager}}
        <section class="split">
          <div><h2>Versions</h2>
          <table><thead><tr><th>Version</th><th>Nodes</th><th>Ready</th></tr></thead>
          <tbody>{{#census}}<tr><td>{{version}}</td><td>{{nodes}}</td><td>{{ready}}</td></tr>{{/census}}{{^census}}<tr><td colspan="3">No nodes.</td></tr>{{/census}}</tbody></table></div>
          <div><h2>Queue capacities</h2>
          <table><thead><tr><th>Queue</th><th>Desired</th><th>Acknowledged</th><th>Reported</th><th>Drift</th></tr></thead>
          <tbody>{{#queues}}<tr><td>{{queue}}</td><td>{{desired}}</td><td>{{acknowledged}}</td><td>{{reported}}</td><td>{{drift}}</td></tr>{{/queues}}{{^queues}}<tr><td colspan="5">No queues.</td></tr>{{/queues}}</tbody></table></div>
        </section>
        <h2>Recent commands</h2>
        {{>commandTable}}
        <h2>Recent admin jobs</h2>
        {{>adminJobTable}}
        """

    static let commandTable = """
        <table>
          <thead><tr><th>Issued</th><th>Region</th><th>Kind</th><th>Target</th><th>Parameters</th><th>Status</th><th>Attempts</th><th>Acknowledged</th><th>By</th><th>Reason</th><th>Last error</th></tr></thead>
          <tbody>{{#commands}}<tr><td class="nowrap">{{issuedAt}}</td><td><a href="/console/regions/{{region}}">{{region}}</a></td><td>{{kind}}</td><td class="wrap">{{target}}</td><td class="trace">{{params}}</td><td class="status-{{status}}">{{status}}</td><td>{{attempts}}</td><td class="nowrap">{{acknowledgedAt}}</td><td class="wrap">{{actor}}</td><td class="wrap">{{reason}}</td><td class="wrap">{{lastError}}</td></tr>{{/commands}}
          {{^commands}}<tr><td colspan="11">No commands.</td></tr>{{/commands}}</tbody>
        </table>
        """

    static let commands = """
        <form class="filters" method="get" action="/console/commands">
          <input name="region" value="{{region}}" placeholder="region" aria-label="Region">
          <select name="status" aria-label="Status"><option value="">any status</option>{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}</select>
          <button type="submit">Filter</button> <a href="/console/admin-jobs">Admin jobs →</a>
        </form>
        <p class="muted">Issue a command from its region's page.</p>
        {{>commandTable}}
        {{>pager}}
        """

    static let adminJobTable = """
        <table>
          <thead><tr><th>Requested</th><th>Kind</th><th>Region</th><th>Status</th><th>By</th><th>Reason</th><th>Finished</th><th>Result</th></tr></thead>
          <tbody>{{#adminJobs}}<tr><td class="nowrap">{{requestedAt}}</td><td>{{kind}}</td><td><a href="/console/regions/{{region}}">{{region}}</a></td><td class="status-{{status}}">{{status}}</td><td class="wrap">{{requestedBy}}</td><td class="wrap">{{reason}}</td><td class="nowrap">{{finishedAt}}</td><td class="trace">{{result}}</td></tr>{{/adminJobs}}
          {{^adminJobs}}<tr><td colspan="8">No admin jobs.</td></tr>{{/adminJobs}}</tbody>
        </table>
        """

    static let adminJobs = """
        <form class="filters" method="get" action="/console/admin-jobs">
          <input name="region" value="{{region}}" placeholder="region" aria-label="Region"><button type="submit">Filter</button>
        </form>
        {{>adminJobTable}}
        {{>pager}}
        """

    static let nodes = """
        <form class="filters" method="get" action="/console/nodes">
          <input name="region" value="{{region}}" placeholder="region" aria-label="Region">
          <input name="version" value="{{version}}" placeholder="container version" aria-label="Version">
          <select name="readiness" aria-label="Readiness"><option value="">any readiness</option>{{#readinessValues}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/readinessValues}}</select>
          <button type="submit">Filter</button>
        </form>
        <table>
          <thead><tr><th>Region</th><th>Node</th><th>Version</th><th>Readiness</th><th>Reported</th><th>Last heartbeat</th></tr></thead>
          <tbody>{{#nodes}}<tr><td><a href="/console/regions/{{region}}">{{region}}</a></td><td class="wrap">{{nodeId}}</td><td>{{version}}</td><td class="status-{{readiness}}">{{readiness}}</td><td>{{reported}}</td><td class="nowrap">{{heartbeat}}</td></tr>{{/nodes}}
          {{^nodes}}<tr><td colspan="6">No nodes.</td></tr>{{/nodes}}</tbody>
        </table>
        {{>pager}}
        """

    static let jobs = """
        <form class="filters" method="get" action="/console/jobs">
          <input name="region" value="{{region}}" placeholder="region" aria-label="Region">
          <input name="status" value="{{status}}" placeholder="status" aria-label="Status">
          <input name="updatedSince" value="{{updatedSince}}" placeholder="updated since (RFC 3339)" aria-label="Updated since">
          <button type="submit">Filter</button>
        </form>
        <table>
          <thead><tr><th>Region</th><th>Job</th><th>Status</th><th>Updated</th><th>Revision</th><th>Payload SHA-256</th></tr></thead>
          <tbody>{{#jobs}}<tr><td><a href="/console/regions/{{region}}">{{region}}</a></td><td class="wrap"><a href="/console/jobs/{{region}}/{{jobId}}">{{jobId}}</a></td><td>{{status}}</td><td class="nowrap">{{updatedAt}}</td><td>{{revision}}</td><td class="trace">{{sha256}}</td></tr>{{/jobs}}
          {{^jobs}}<tr><td colspan="6">No jobs.</td></tr>{{/jobs}}</tbody>
        </table>
        {{>pager}}
        """

    static let job = """
        <dl class="facts"><dt>Region</dt><dd><a href="/console/regions/{{region}}">{{region}}</a></dd><dt>Status</dt><dd>{{status}}</dd>
          <dt>Node</dt><dd>{{nodeId}}</dd><dt>Updated (as the registry says)</dt><dd>{{updatedAt}}</dd><dt>Current revision</dt><dd>{{revision}}</dd>
          <dt>First seen</dt><dd>{{firstSeenAt}}</dd><dt>Last synced</dt><dd>{{lastSyncedAt}}</dd></dl>
        {{#revisions}}
        <section>
          <h2>Revision {{revision}}</h2>
          <dl class="facts"><dt>Status</dt><dd>{{status}}</dd><dt>Received</dt><dd>{{receivedAt}}</dd><dt>SHA-256</dt><dd class="trace">{{sha256}}</dd><dt>Size</dt><dd>{{bytes}} bytes</dd></dl>
          <p><a href="{{download}}" download>Download the exact bytes</a> <span class="muted">canonicalPayload as the registry sent it, byte for byte{{^utf8}}; not valid UTF-8, so the text below replaces the invalid bytes: trust the download{{/utf8}}</span></p>
          {{#payload}}<pre class="payload">{{payload}}</pre>{{/payload}}{{^payload}}<p class="muted">Older revision: download it to see its bytes.</p>{{/payload}}
        </section>
        {{/revisions}}
        """

    static let rules = """
        <p>The rules the sync applies after each sweep (settings: <code>CONTROLPLANE_RULE_*</code>). Each firing is in the audit log as <code>rule:&lt;id&gt;</code>.</p>
        <table>
          <thead><tr><th>Rule</th><th>When</th><th>Then</th></tr></thead>
          <tbody>{{#rules}}<tr><td class="nowrap">{{id}}</td><td>{{when}}</td><td>{{then}}</td></tr>{{/rules}}</tbody>
        </table>
        <h2>Recent firings</h2>
        {{>auditTable}}
        """
}
