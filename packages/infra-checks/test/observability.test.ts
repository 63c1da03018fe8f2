import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  type FakePod,
  writeAlertmanagerTestConfig,
  writeK8sConfigForPromtool,
  writePrometheusTestConfig,
} from './support/observability-configs';
import { exportedNames, parseExposition } from './support/observability-exposition';
import {
  alertRules,
  alertUnitCases,
  type DashboardQuery,
  dashboardQueries,
  dashboards,
  datasourceRefs,
  headingAnchor,
  markdownSection,
  OBSERVABILITY_DIR,
  observabilityFile,
  PROMETHEUS_DIR,
  panelsOf,
  REPO_DIR,
  readYaml,
  type Yaml,
} from './support/observability-files';
import {
  grafanaVariableQuery,
  promqlReferences,
  substituteGrafanaVariables,
  tokenize,
} from './support/observability-promql';
import {
  AUTH_RATE_LIMIT,
  makeTraffic,
  type RunningServices,
  request,
  SERVICES,
  type ServiceName,
  startServices,
} from './support/observability-services';
import { type Daemon, eventually, makeTempDir, runTool, startDaemon } from './support/observability-tools';
import { startWebhookSink, type WebhookSink } from './support/observability-webhook';

/**
 * The observability configuration in infra/observability, proved with the real tools where they
 * exist here (promtool, amtool, Prometheus 2.42, Alertmanager 0.25: the Debian packages .ci/run
 * installs) and parsed where they do not (Loki, Promtail, Tempo, Grafana). Dashboards are held
 * against what gateway, auth, files, events, jobs and notes really export: their /metrics, live.
 */

const README = fs.readFileSync(path.join(OBSERVABILITY_DIR, 'README.md'), 'utf8');
const RULES = alertRules();
const DASHBOARDS = dashboards();
const SEVERITIES = ['page', 'ticket'];
/** Labels Prometheus attaches to every scraped series (compose: service; Kubernetes: also namespace, pod). */
const TARGET_LABELS = ['job', 'instance', 'service', 'namespace', 'pod'];
/** Series Prometheus makes itself rather than scraping. */
const SYNTHETIC: Record<string, string[]> = {
  up: TARGET_LABELS,
  ALERTS: ['alertname', 'alertstate', 'severity', ...TARGET_LABELS],
};

const prometheusQueries = (q: DashboardQuery) => q.datasource.type === 'prometheus';

/** The PromQL a dashboard query runs (a template variable's label_values(expr, …) gives its expr). */
function promqlOf(query: DashboardQuery): string | undefined {
  return query.variable ? grafanaVariableQuery(query.expr).expr : query.expr;
}

describe('the PromQL tokenizer the dashboard checks rely on', () => {
  it('finds metrics and labels, not functions, strings, numbers, durations or Grafana variables', () => {
    expect(
      promqlReferences(
        'sum by (route) (rate(http_request_duration_seconds_count{service="gateway", status_code=~"5..", instance=~"$instance"}[$__rate_interval]))',
      ),
    ).toEqual({
      metrics: ['http_request_duration_seconds_count'],
      labels: ['instance', 'route', 'service', 'status_code'],
      functions: ['rate', 'sum'],
    });
  });

  it('reads grouping after the aggregation, binary matching, offsets, subqueries and @', () => {
    expect(
      promqlReferences('histogram_quantile(0.99, sum(rate(x_bucket[5m])) by (le)) > 1e3').metrics,
    ).toEqual(['x_bucket']);
    const joined = promqlReferences(
      'max_over_time(rate(a_total[5m])[1h:1m] offset 1d) / on (instance) group_left (version) b_info @ end() > bool Inf',
    );
    expect(joined.metrics).toEqual(['a_total', 'b_info']);
    expect(joined.labels).toEqual(['instance', 'version']);
  });

  it('does not mistake words inside strings, or the by/without keywords, for metrics', () => {
    const refs = promqlReferences(
      'label_replace(up{job="tenantmesh"}, "dst", "$1", "instance", "(not_a_metric):.*") and time() - max without (kind) (y{kind="full"}) > 26 * 3600',
    );
    expect(refs.metrics).toEqual(['up', 'y']);
    expect(promqlReferences('{__name__="by_name", a="b"}').metrics).toEqual(['by_name']);
  });

  it('refuses what it does not understand instead of guessing', () => {
    expect(() => promqlReferences('rat(foo[5m])')).toThrow(/unknown function "rat"/);
    expect(() => promqlReferences('foo{bar}')).toThrow(/expected a label matcher/);
    expect(() => promqlReferences('foo{a="b"')).toThrow(/unterminated|unclosed/);
    expect(() => tokenize('foo ; bar')).toThrow(/unexpected ";"/);
  });

  it('reads Grafana variable queries and substitutes Grafana variables', () => {
    expect(grafanaVariableQuery('label_values(up{job="tenantmesh", service="auth"}, instance)')).toEqual({
      expr: 'up{job="tenantmesh", service="auth"}',
      label: 'instance',
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${name} variable syntax, on purpose
    expect(substituteGrafanaVariables('rate(x{instance=~"$instance"}[$__rate_interval]) * ${factor}')).toBe(
      'rate(x{instance=~".*"}[1m]) * .*',
    );
  });
});

describe('Prometheus configuration', () => {
  it('promtool check config accepts prometheus.yml and the alerts.yml it loads', () => {
    const run = runTool('promtool', ['check', 'config', 'prometheus.yml'], { cwd: PROMETHEUS_DIR });
    expect(run.output).toContain('SUCCESS: 1 rule files found');
    expect(run.status).toBe(0);
  });

  it('promtool check config accepts prometheus.k8s.yml (its discovery swapped for a static target)', () => {
    const dir = makeTempDir('k8s');
    try {
      const run = runTool('promtool', ['check', 'config', writeK8sConfigForPromtool(dir)]);
      expect(run.output).toContain('SUCCESS: 1 rule files found');
      expect(run.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('both configurations load the same rules, alert the same Alertmanager and name the same jobs', () => {
    const compose = readYaml(path.join(PROMETHEUS_DIR, 'prometheus.yml'));
    const k8s = readYaml(path.join(PROMETHEUS_DIR, 'prometheus.k8s.yml'));
    expect(compose.rule_files).toEqual(['alerts.yml']);
    expect(k8s.rule_files).toEqual(compose.rule_files);
    expect(k8s.alerting).toEqual(compose.alerting);
    const jobs = (doc: Yaml) => doc.scrape_configs.map((j: Yaml) => j.job_name);
    expect(jobs(k8s)).toEqual(jobs(compose));
    expect(jobs(compose)).toEqual(['tenantmesh', 'backup', 'alertmanager', 'prometheus']);
  });

  it('scrapes gateway, auth, files, events, jobs and notes on their compose names and ports, each labelled with its service', () => {
    const compose = readYaml(path.join(PROMETHEUS_DIR, 'prometheus.yml'));
    const job = compose.scrape_configs.find((j: Yaml) => j.job_name === 'tenantmesh');
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs).toEqual([
      { targets: ['gateway:3000'], labels: { service: 'gateway' } },
      { targets: ['auth:3001'], labels: { service: 'auth' } },
      { targets: ['files:3002'], labels: { service: 'files' } },
      { targets: ['events:3003'], labels: { service: 'events' } },
      { targets: ['jobs:3004'], labels: { service: 'jobs' } },
      { targets: ['notes:3005'], labels: { service: 'notes' } },
    ]);
  });
});

describe('alert rules', () => {
  it('promtool check rules accepts alerts.yml', () => {
    const run = runTool('promtool', ['check', 'rules', 'alerts.yml'], { cwd: PROMETHEUS_DIR });
    expect(run.output).toContain(`SUCCESS: ${RULES.length} rules found`);
    expect(run.status).toBe(0);
  });

  it('promtool test rules: every unit test in alerts.test.yml passes', () => {
    const run = runTool('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: PROMETHEUS_DIR });
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
  }, 120_000);

  it('has the alerts the issue asks for', () => {
    expect(RULES.map((r) => r.alert).sort()).toEqual(
      [
        'BackupFullTooOld',
        'BackupMetricsMissing',
        'DeadJobs',
        'EventsDeliveredToWrongUser',
        'FilesIntegrityFailure',
        'HighErrorRatio',
        'HighLatencyP99',
        'JobBacklog',
        'JobsReaped',
        'RestoreDrillFailed',
        'RestoreDrillOverdue',
        'ServiceDown',
        'SseConnectionsNearLimit',
      ].sort(),
    );
  });

  it('every alert has a unit test where it fires and one where it stays quiet', () => {
    const cases = alertUnitCases();
    const missing = RULES.flatMap((rule) => {
      const own = cases.filter((c) => c.alertname === rule.alert);
      return [
        ...(own.some((c) => c.fires) ? [] : [`${rule.alert}: no case where it fires`]),
        ...(own.some((c) => !c.fires) ? [] : [`${rule.alert}: no case where it stays quiet`]),
      ];
    });
    expect(missing).toEqual([]);
    // And no test names an alert that does not exist (it would pass vacuously).
    const names = new Set(RULES.map((r) => r.alert));
    expect(cases.filter((c) => !names.has(c.alertname)).map((c) => `${c.test}: ${c.alertname}`)).toEqual([]);
  });

  it('every alert has a severity of page or ticket, a summary, a description and a runbook_url', () => {
    for (const rule of RULES) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(new RegExp(`^(${SEVERITIES.join('|')})$`)),
      });
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
    }
  });

  it('each runbook_url points at the alert’s own section of docs/runbook.md', () => {
    const runbook = fs.readFileSync(path.join(REPO_DIR, 'docs', 'runbook.md'), 'utf8');
    const section = markdownSection(runbook, 'Responding to alerts');
    if (!section) throw new Error('docs/runbook.md has no "## Responding to alerts" section');
    const anchors = new Set([...section.matchAll(/^### (.+)$/gm)].map((m) => headingAnchor(m[1]!)));
    for (const rule of RULES) {
      const url = rule.annotations?.runbook_url ?? '';
      expect(url).toMatch(/\/docs\/runbook\.md#[a-z0-9-]+$/);
      const anchor = url.split('#')[1]!;
      expect({ alert: rule.alert, anchor, inRunbook: anchors.has(anchor) }).toEqual({
        alert: rule.alert,
        anchor: rule.alert.toLowerCase(),
        inRunbook: true,
      });
    }
  });

  it('reads only metrics in the README’s metric contract (or up), and every contract metric is alerted on', () => {
    const contract = markdownSection(README, 'Metric contract');
    if (!contract) throw new Error('infra/observability/README.md has no "## Metric contract" section');
    const documented = new Set([...contract.matchAll(/^\| `([a-z_:]+)(?:\{[^`]*\})?`/gm)].map((m) => m[1]!));
    // A histogram is documented by its family name; rules read its _bucket and _count series.
    const family = (m: string) => m.replace(/_(bucket|count|sum)$/, '');
    const used = new Set(RULES.flatMap((r) => promqlReferences(r.expr).metrics));
    expect([...used].filter((m) => m !== 'up' && !documented.has(m) && !documented.has(family(m)))).toEqual(
      [],
    );
    const usedFamilies = new Set([...used].map(family));
    expect([...documented].filter((m) => !used.has(m) && !usedFamilies.has(m))).toEqual([]);
  });
});

describe('Alertmanager configuration', () => {
  const file = observabilityFile('alertmanager', 'alertmanager.yml');
  const config = readYaml(file);

  it('amtool check-config accepts alertmanager.yml', () => {
    const run = runTool('amtool', ['check-config', file]);
    expect(run.output).toContain('SUCCESS');
    expect(run.status).toBe(0);
  });

  it('routes page alerts to the page receiver, tickets and anything unlabelled to the ticket receiver (amtool)', () => {
    const route = (labels: string[]) =>
      runTool('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...labels])
        .output.split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('Warning:'))
        .join('\n');
    expect(route(['severity=page', 'alertname=ServiceDown', 'service=notes'])).toBe('page');
    expect(route(['severity=ticket', 'alertname=JobBacklog'])).toBe('ticket');
    expect(route(['alertname=Unlabelled'])).toBe('ticket');
    // Every severity the rules use has a route that names it.
    for (const severity of new Set(RULES.map((r) => r.labels?.severity))) {
      expect(route([`severity=${severity}`, 'alertname=X'])).toBe(severity);
    }
  });

  it('holds no secret: webhook credentials come from files under /run/secrets, nothing inline', () => {
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toMatch(
      /^\s*(password|credentials|bearer_token|api_key|api_url|routing_key|service_key|secret)\s*:/m,
    );
    const hooks = config.receivers.flatMap((r: Yaml) => r.webhook_configs ?? []);
    expect(hooks.length).toBeGreaterThanOrEqual(2);
    for (const hook of hooks) {
      expect(hook.url).not.toMatch(/@|token|key=|secret/i);
      expect(hook.http_config.authorization.credentials_file).toMatch(/^\/run\/secrets\/[a-z_]+$/);
    }
  });

  it('a service that is down inhibits its own error-ratio and latency alerts, and only its own', () => {
    expect(config.inhibit_rules).toEqual([
      {
        source_matchers: ['alertname="ServiceDown"'],
        target_matchers: ['alertname=~"HighErrorRatio|HighLatencyP99"'],
        equal: ['service'],
      },
    ]);
    expect(config.route.group_by).toEqual(['alertname', 'service']);
  });

  describe('a real Alertmanager (0.25) with this configuration', () => {
    let dir: string;
    let sink: WebhookSink;
    let alertmanager: Daemon;
    let tokens: Record<string, string>;

    beforeAll(async () => {
      dir = makeTempDir('alertmanager');
      sink = await startWebhookSink();
      const written = writeAlertmanagerTestConfig(dir, sink.url);
      tokens = written.tokens;
      alertmanager = await startDaemon('prometheus-alertmanager', (listen) => [
        `--config.file=${written.file}`,
        `--storage.path=${path.join(dir, 'data')}`,
        `--web.listen-address=${listen}`,
        '--cluster.listen-address=',
        '--log.level=warn',
      ]);
      const alert = (labels: Record<string, string>) => ({
        labels,
        annotations: { summary: labels.alertname },
        startsAt: new Date().toISOString(),
      });
      const res = await fetch(`${alertmanager.url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          alert({
            alertname: 'ServiceDown',
            severity: 'page',
            service: 'notes',
            instance: 'notes:3005',
            job: 'tenantmesh',
          }),
          alert({ alertname: 'HighErrorRatio', severity: 'page', service: 'notes' }),
          alert({ alertname: 'HighLatencyP99', severity: 'page', service: 'notes' }),
          alert({ alertname: 'HighErrorRatio', severity: 'page', service: 'auth' }),
          alert({ alertname: 'JobBacklog', severity: 'ticket', service: 'jobs' }),
        ]),
      });
      expect(res.status).toBe(200);
      // Three groups are due: ServiceDown/notes and HighErrorRatio/auth (page), JobBacklog (ticket).
      await eventually('three notifications', async () => (sink.received.length >= 3 ? true : undefined));
      // Group timers are 1 s here: a notification the inhibition failed to stop would be out by now.
      await new Promise((r) => setTimeout(r, 3000));
    }, 60_000);

    afterAll(async () => {
      await alertmanager?.stop();
      await sink?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const delivered = () =>
      sink.received
        .flatMap((n) => n.alerts.map((a) => `${n.path} ${a.labels.alertname}/${a.labels.service}`))
        .sort();

    it('pages for the service that is down and for the other service’s errors; tickets go to the ticket receiver', () => {
      expect(delivered()).toEqual([
        '/page HighErrorRatio/auth',
        '/page ServiceDown/notes',
        '/ticket JobBacklog/jobs',
      ]);
    });

    it('never notifies the down service’s error and latency alerts, and marks them inhibited by ServiceDown', async () => {
      const res = await fetch(`${alertmanager.url}/api/v2/alerts?filter=service%3D%22notes%22`);
      const alerts = (await res.json()) as {
        labels: Record<string, string>;
        status: { state: string; inhibitedBy: string[] };
      }[];
      const state = Object.fromEntries(
        alerts.map((a) => [a.labels.alertname, [a.status.state, a.status.inhibitedBy.length]]),
      );
      expect(state).toEqual({
        ServiceDown: ['active', 0],
        HighErrorRatio: ['suppressed', 1],
        HighLatencyP99: ['suppressed', 1],
      });
    });

    it('authenticates to each webhook with the bearer token read from its receiver’s file', () => {
      for (const n of sink.received) {
        const receiver = n.path.slice(1);
        expect({ receiver, authorization: n.authorization }).toEqual({
          receiver,
          authorization: `Bearer ${tokens[receiver]}`,
        });
      }
    });

    it('groups by alert and service', () => {
      for (const n of sink.received)
        expect(Object.keys(n.groupLabels).sort()).toEqual(['alertname', 'service']);
    });
  });
});

describe('against the running services: their /metrics, scraped live', () => {
  let services: RunningServices;
  let exported: Record<ServiceName, { names: Set<string>; labels: Map<string, Set<string>> }>;
  let gatewayStatuses: number[];
  let dir: string;
  let prometheus: Daemon;

  const PODS = (notesPort: number): FakePod[] => [
    {
      name: 'notes-7d9f-abcde',
      app: 'notes',
      address: '127.0.0.1:9',
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(notesPort) },
    },
    { name: 'notes-unannotated', app: 'notes', address: '127.0.0.2:9', annotations: {} },
    {
      name: 'notes-finished',
      app: 'notes',
      address: '127.0.0.3:9',
      phase: 'Succeeded',
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(notesPort) },
    },
    {
      name: 'someone-elses',
      app: 'other',
      address: '127.0.0.4:9',
      partOf: 'other',
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(notesPort) },
    },
  ];

  const query = async (
    promql: string,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: [] } };
    if (body.status !== 'success') throw new Error(`Prometheus refused ${promql}: ${body.error}`);
    return body.data.result;
  };

  beforeAll(async () => {
    services = await startServices();
    ({ gatewayStatuses } = await makeTraffic(services));
    exported = {} as typeof exported;
    for (const service of SERVICES) {
      const exposition = parseExposition(await services.scrape(service));
      exported[service] = { names: exportedNames(exposition), labels: exposition.series };
    }
    dir = makeTempDir('prometheus');
    const config = writePrometheusTestConfig(dir, services.ports, PODS(services.ports.notes));
    prometheus = await startDaemon('prometheus', (listen) => [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${listen}`,
      '--log.level=warn',
    ]);
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    await services?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the traffic produced request series, including a 429 from the gateway’s /auth rate limit', () => {
    expect(gatewayStatuses).toEqual([302, 302, 429, 401, 200]);
    for (const service of SERVICES) {
      expect(
        [...(exported[service].labels.get('http_request_duration_seconds_bucket') ?? [])].sort(),
      ).toEqual(['le', 'method', 'route', 'service', 'status_code']);
    }
  });

  /** The value of the first sample of `metric` carrying `labels` in an exposition, if any. */
  const sampleValue = (text: string, metric: string, labels: Record<string, string> = {}) => {
    const line = text
      .split('\n')
      .find(
        (l) =>
          (l.startsWith(`${metric}{`) || l.startsWith(`${metric} `)) &&
          Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
      );
    return line === undefined ? undefined : Number(line.trim().split(/\s+/).at(-1));
  };

  it('events exports its stream gauges and the wrong-uid drop counter from the start, so EventsDeliveredToWrongUser sees the first drop as an increase', async () => {
    const text = await services.scrape('events');
    const value = (metric: string, labels: Record<string, string> = {}) => sampleValue(text, metric, labels);
    expect(value('tenantmesh_events_dropped_total', { reason: 'wrong_uid' })).toBe(0);
    expect(value('tenantmesh_sse_connection_limit')).toBeGreaterThan(0);
    expect(value('tenantmesh_sse_connections')).toBe(0);
    expect(value('tenantmesh_events_published_total')).toBeGreaterThanOrEqual(1);
    expect(value('tenantmesh_events_delivered_total')).toBeGreaterThanOrEqual(1);
  });

  it('jobs exports the queue gauge for every state and its dead and reaped counters from the start, so JobBacklog, DeadJobs and JobsReaped see the first one as an increase; the export it ran shows in its claim and run series', async () => {
    const text = await services.scrape('jobs');
    const value = (metric: string, labels: Record<string, string> = {}) => sampleValue(text, metric, labels);
    for (const state of ['queued', 'running', 'succeeded', 'dead'])
      expect({ state, count: value('tenantmesh_jobs', { state }) }).toEqual({
        state,
        count: expect.any(Number),
      });
    // Every type the service knows, user-creatable or internal, at 0 before any dies.
    for (const type of ['files.export', 'account.purge'])
      expect({ type, dead: value('tenantmesh_jobs_dead_total', { type }) }).toEqual({ type, dead: 0 });
    for (const outcome of ['requeued', 'dead'])
      expect({ outcome, reaped: value('tenantmesh_jobs_reaped_total', { outcome }) }).toEqual({
        outcome,
        reaped: 0,
      });
    expect(value('tenantmesh_jobs_claimed_total', { type: 'files.export' })).toBeGreaterThanOrEqual(1);
    expect(value('tenantmesh_jobs_claim_latency_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(
      value('tenantmesh_jobs_run_duration_seconds_count', { type: 'files.export', outcome: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
    // The export's progress and result reached events with jobs' own token.
    expect(
      sampleValue(await services.scrape('events'), 'tenantmesh_events_published_total'),
    ).toBeGreaterThanOrEqual(2);
  });

  it('the gateway exports no rate-limit counter of its own (so its 429s are counted from the request histogram)', () => {
    const own = [...exported.gateway.names].filter((n) => /rate_?limit|429|reject/i.test(n));
    expect(own).toEqual([]);
  });

  it('every dashboard has at least one Prometheus query, and every query’s PromQL is one the tokenizer reads', () => {
    for (const dashboard of DASHBOARDS) {
      const queries = dashboardQueries(dashboard).filter(prometheusQueries);
      expect({ dashboard: dashboard.file, queries: queries.length > 5 }).toEqual({
        dashboard: dashboard.file,
        queries: true,
      });
      for (const q of queries) expect(() => promqlReferences(promqlOf(q)!)).not.toThrow();
    }
  });

  it('each dashboard queries only metrics its service exports (the overview: any of them), with labels they carry', () => {
    const problems: string[] = [];
    for (const dashboard of DASHBOARDS) {
      const name = dashboard.file.replace(/\.json$/, '');
      const sources = name === 'overview' ? [...SERVICES] : [name as ServiceName];
      if (!sources.every((s) => SERVICES.includes(s))) {
        problems.push(
          `${dashboard.file}: no service named ${name} (dashboards are <service>.json or overview.json)`,
        );
        continue;
      }
      const labelsOf = (metric: string): string[] => {
        if (SYNTHETIC[metric] && (metric === 'up' || name === 'overview')) return SYNTHETIC[metric]!;
        const found = sources.flatMap((s) => (exported[s].names.has(metric) ? [s] : []));
        if (found.length === 0) return [];
        const labels = new Set([...TARGET_LABELS, ...(metric.endsWith('_bucket') ? ['le'] : [])]);
        for (const s of found) for (const l of exported[s].labels.get(metric) ?? []) labels.add(l);
        return [...labels];
      };
      for (const q of dashboardQueries(dashboard).filter(prometheusQueries)) {
        const refs = promqlReferences(promqlOf(q)!);
        const unknown = refs.metrics.filter((metric) => labelsOf(metric).length === 0);
        for (const metric of unknown) {
          problems.push(`${dashboard.file} "${q.where}": ${metric} is not exported by ${sources.join('/')}`);
        }
        if (unknown.length > 0) continue; // its labels cannot be judged
        const allowed = new Set(refs.metrics.flatMap(labelsOf));
        for (const label of refs.labels) {
          if (!allowed.has(label))
            problems.push(`${dashboard.file} "${q.where}": no label ${label} on ${refs.metrics.join(', ')}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('a service’s dashboard shows that service only: every Prometheus query selects service="<it>"', () => {
    for (const dashboard of DASHBOARDS.filter((d) => d.file !== 'overview.json')) {
      const service = dashboard.file.replace(/\.json$/, '');
      for (const q of dashboardQueries(dashboard).filter(prometheusQueries)) {
        expect({
          where: `${dashboard.file} ${q.where}`,
          selects: q.expr.includes(`service="${service}"`),
        }).toEqual({
          where: `${dashboard.file} ${q.where}`,
          selects: true,
        });
      }
    }
  });

  it('the service dashboards have the panels the issue asks for; the gateway’s shows its 429s', () => {
    const titles = (file: string) => panelsOf(DASHBOARDS.find((d) => d.file === file)!).map((p) => p.title);
    for (const service of SERVICES) {
      expect(titles(`${service}.json`)).toEqual(
        expect.arrayContaining([
          'Request rate by route',
          'Error ratio (5xx)',
          'p50 latency by route',
          'p99 latency by route',
          'Event loop lag',
          'Memory',
        ]),
      );
    }
    expect(titles('gateway.json')).toContain('Rate-limited requests (429)');
    expect(titles('overview.json')).toEqual(expect.arrayContaining(['Targets up', 'Firing alerts']));
  });

  describe('a real Prometheus (2.42) running the committed scrape jobs and rules', () => {
    beforeAll(async () => {
      await eventually('the six services scraped', async () => {
        const up = await query('up{job="tenantmesh"} == 1');
        return up.length === SERVICES.length ? true : undefined;
      });
    }, 30_000);

    it('scrapes gateway, auth, files, events, jobs and notes, with the service label from the target', async () => {
      const up = await query('up{job="tenantmesh"}');
      expect(up.map((r) => [r.metric.service, r.value[1]]).sort()).toEqual([
        ['auth', '1'],
        ['events', '1'],
        ['files', '1'],
        ['gateway', '1'],
        ['jobs', '1'],
        ['notes', '1'],
      ]);
    });

    it('keeps one service label per series: the services’ own copy is not duplicated as exported_service', async () => {
      expect(await query('count({job="tenantmesh", exported_service!=""})')).toEqual([]);
      const missing = await query('count({job="tenantmesh", service=""})');
      expect(missing).toEqual([]);
      const perService = await query(
        'count by (service) (http_request_duration_seconds_count{job="tenantmesh"})',
      );
      expect(perService.map((r) => r.metric.service).sort()).toEqual([
        'auth',
        'events',
        'files',
        'gateway',
        'jobs',
        'notes',
      ]);
    });

    it('accepts every dashboard query (variables given typical values)', async () => {
      const refused: string[] = [];
      for (const dashboard of DASHBOARDS) {
        for (const q of dashboardQueries(dashboard).filter(prometheusQueries)) {
          try {
            await query(substituteGrafanaVariables(promqlOf(q)!));
          } catch (error) {
            refused.push(`${dashboard.file} "${q.where}": ${(error as Error).message}`);
          }
        }
      }
      expect(refused).toEqual([]);
    });

    it('the gateway dashboard’s 429 panel shows the rate-limited request', async () => {
      const panel = panelsOf(DASHBOARDS.find((d) => d.file === 'gateway.json')!).find(
        (p) => p.title === 'Rate-limited requests (429)',
      );
      const expr = substituteGrafanaVariables(panel.targets[0].expr);
      // More than the /auth budget while Prometheus is scraping: at least one 429 lands between
      // two scrapes, so the counter rises and the panel has a rate.
      const statuses: number[] = [];
      for (let i = 0; i <= AUTH_RATE_LIMIT; i++)
        statuses.push(await request(services, 'gateway', '/auth/google'));
      expect(statuses).toContain(429);
      const result = await eventually('a 429 rate', async () => {
        const rows = await query(expr);
        return rows.length > 0 && Number(rows[0]!.value[1]) > 0 ? rows : undefined;
      });
      expect(result.map((r) => r.metric.method)).toEqual(['GET']);
    });

    it('the variable queries list the running instances', async () => {
      for (const dashboard of DASHBOARDS.filter((d) => d.file !== 'overview.json')) {
        for (const q of dashboardQueries(dashboard).filter((x) => x.variable)) {
          const { expr, label } = grafanaVariableQuery(q.expr);
          const rows = await query(expr!);
          expect(rows.map((r) => r.metric[label!])).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
        }
      }
    });

    it('loads every alert rule and evaluates it against the live series without error', async () => {
      const body = await eventually('rules evaluated', async () => {
        const res = await fetch(`${prometheus.url}/api/v1/rules?type=alert`);
        const json = (await res.json()) as {
          data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
        };
        const rules = json.data.groups.flatMap((g) => g.rules);
        return rules.every((r) => r.health !== 'unknown') ? rules : undefined;
      });
      expect(body.map((r) => r.name).sort()).toEqual(RULES.map((r) => r.alert).sort());
      expect(body.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`)).toEqual([]);
    });

    it('finds Kubernetes pods by annotation: only the annotated, running tenantmesh pod, on its annotated port', async () => {
      const targets = await eventually('the Kubernetes job’s targets', async () => {
        const res = await fetch(`${prometheus.url}/api/v1/targets`);
        const json = (await res.json()) as {
          data: {
            activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string }[];
            droppedTargets: { discoveredLabels: Record<string, string> }[];
          };
        };
        const active = json.data.activeTargets.filter((t) => t.labels.job === 'tenantmesh-k8s');
        return active.length === 1 && active[0]!.health === 'up' ? json.data : undefined;
      });
      const [pod] = targets.activeTargets.filter((t) => t.labels.job === 'tenantmesh-k8s');
      expect(pod!.scrapeUrl).toBe(`http://127.0.0.1:${services.ports.notes}/metrics`);
      expect(pod!.labels).toEqual({
        job: 'tenantmesh-k8s',
        instance: `127.0.0.1:${services.ports.notes}`,
        service: 'notes',
        namespace: 'tenantmesh',
        pod: 'notes-7d9f-abcde',
      });
      const dropped = targets.droppedTargets
        .filter((t) => t.discoveredLabels.job === 'tenantmesh-k8s')
        .map((t) => t.discoveredLabels.__meta_kubernetes_pod_name)
        .sort();
      expect(dropped).toEqual(['notes-finished', 'notes-unannotated', 'someone-elses']);
    });
  });

  it('the services’ log lines carry the JSON fields promtail extracts, and timestamps its timestamp stage parses', () => {
    const promtail = readYaml(observabilityFile('promtail', 'promtail.yml'));
    const stages = promtail.scrape_configs[0].pipeline_stages[0].match.stages;
    const extracted = Object.keys(stages.find((s: Yaml) => s.json).json.expressions);
    const lines = SERVICES.flatMap((s) =>
      services
        .output(s)
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(typeof line.level).toBe('string');
      expect(SERVICES).toContain(line.service);
      expect(String(line.timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    }
    // Fields the line always has are extracted; trace and request ids when they are present.
    expect(extracted.sort()).toEqual(['level', 'request_id', 'service', 'timestamp', 'trace_id']);
    expect(lines.some((l) => typeof l.request_id === 'string')).toBe(true);
    // level and service are labels: few distinct values. request_id is unique per request.
    expect(new Set(lines.map((l) => l.level)).size).toBeLessThanOrEqual(5);
    const requestIds = lines.filter((l) => l.request_id).map((l) => l.request_id);
    expect(new Set(requestIds).size).toBeGreaterThan(5);
  });
});

describe('logs, traces and Grafana provisioning (parsed: Loki, Promtail, Tempo and Grafana cannot be installed here)', () => {
  const loki = readYaml(observabilityFile('loki', 'loki.yml'));
  const promtail = readYaml(observabilityFile('promtail', 'promtail.yml'));
  const tempo = readYaml(observabilityFile('tempo', 'tempo.yml'));
  const datasources = readYaml(
    observabilityFile('grafana', 'provisioning', 'datasources', 'datasources.yml'),
  );
  const providers = readYaml(observabilityFile('grafana', 'provisioning', 'dashboards', 'dashboards.yml'));
  const byUid = new Map<string, Yaml>(datasources.datasources.map((d: Yaml) => [d.uid, d]));
  const portOf = (url: string) => Number(new URL(url).port);

  it('Loki runs as one binary on the filesystem, with a tsdb v13 schema and structured metadata allowed', () => {
    expect(loki.auth_enabled).toBe(false);
    expect(loki.common.replication_factor).toBe(1);
    expect(loki.common.ring.kvstore.store).toBe('inmemory');
    expect(Object.keys(loki.common.storage)).toEqual(['filesystem']);
    expect(loki.schema_config.configs).toEqual([
      expect.objectContaining({ store: 'tsdb', object_store: 'filesystem', schema: 'v13' }),
    ]);
    expect(loki.limits_config.allow_structured_metadata).toBe(true);
  });

  it('Loki deletes logs inside the 30 days account deletion promises: retention on, 28 days plus the delete delay', () => {
    expect(loki.compactor.retention_enabled).toBe(true);
    expect(loki.compactor.delete_request_store).toBe('filesystem');
    const hours = (d: string) => {
      const m = /^(\d+)h$/.exec(d);
      if (!m) throw new Error(`expected a duration in hours, got ${d}`);
      return Number(m[1]);
    };
    const worst =
      hours(loki.limits_config.retention_period) + hours(loki.compactor.retention_delete_delay) + 1;
    expect(worst).toBeLessThan(30 * 24);
  });

  it('Promtail ships Docker container logs to Loki’s push API', () => {
    expect(promtail.clients).toEqual([{ url: 'http://loki:3100/loki/api/v1/push' }]);
    expect(portOf(promtail.clients[0].url)).toBe(loki.server.http_listen_port);
    expect(promtail.scrape_configs).toHaveLength(1);
    expect(promtail.scrape_configs[0].docker_sd_configs[0].host).toBe('unix:///var/run/docker.sock');
  });

  it('Promtail makes labels only of low-cardinality fields: trace_id and request_id are structured metadata', () => {
    const job = promtail.scrape_configs[0];
    const relabelled = job.relabel_configs.map((r: Yaml) => r.target_label).sort();
    const stages = job.pipeline_stages.flatMap((s: Yaml) => (s.match ? s.match.stages : [s]));
    const labelled = stages.flatMap((s: Yaml) => (s.labels ? Object.keys(s.labels) : [])).sort();
    const metadata = stages.flatMap((s: Yaml) =>
      s.structured_metadata ? Object.keys(s.structured_metadata) : [],
    );
    expect(relabelled).toEqual(['compose_project', 'container', 'service']);
    expect(labelled).toEqual(['level', 'service']);
    expect(metadata.sort()).toEqual(['request_id', 'trace_id']);
    for (const highCardinality of ['trace_id', 'span_id', 'request_id']) {
      expect([...relabelled, ...labelled]).not.toContain(highCardinality);
    }
    const timestamp = stages.find((s: Yaml) => s.timestamp).timestamp;
    expect(timestamp).toEqual({ source: 'timestamp', format: 'RFC3339Nano' });
  });

  it('Tempo receives OTLP over HTTP on 4318 from every interface and stores traces locally', () => {
    expect(tempo.distributor.receivers).toEqual({
      otlp: { protocols: { http: { endpoint: '0.0.0.0:4318' } } },
    });
    expect(tempo.storage.trace.backend).toBe('local');
    expect(tempo.storage.trace.local.path).toBeTruthy();
    expect(tempo.storage.trace.wal.path).toBeTruthy();
    // What the services are told to export to (packages/observability: OTEL_EXPORTER_OTLP_ENDPOINT).
    expect(README).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://tempo:4318');
  });

  it('Grafana’s datasources are Prometheus, Loki and Tempo on the ports those servers listen on', () => {
    expect([...byUid.keys()].sort()).toEqual(['loki', 'prometheus', 'tempo']);
    expect(byUid.get('prometheus').type).toBe('prometheus');
    expect(byUid.get('loki').type).toBe('loki');
    expect(byUid.get('tempo').type).toBe('tempo');
    expect(portOf(byUid.get('loki').url)).toBe(loki.server.http_listen_port);
    expect(portOf(byUid.get('tempo').url)).toBe(tempo.server.http_listen_port);
    expect(portOf(byUid.get('prometheus').url)).toBe(9090);
    expect(datasources.datasources.filter((d: Yaml) => d.isDefault).map((d: Yaml) => d.uid)).toEqual([
      'prometheus',
    ]);
  });

  it('links traces and logs both ways: Tempo → Loki by service and trace id, Loki → Tempo by the trace_id in the line', () => {
    const tempoLinks = byUid.get('tempo').jsonData;
    expect(tempoLinks.tracesToLogsV2).toMatchObject({
      datasourceUid: 'loki',
      filterByTraceID: true,
      tags: [{ key: 'service.name', value: 'service' }],
    });
    expect(byUid.has(tempoLinks.tracesToMetrics.datasourceUid)).toBe(true);
    expect(byUid.has(tempoLinks.lokiSearch.datasourceUid)).toBe(true);
    const [derived] = byUid.get('loki').jsonData.derivedFields;
    expect(derived.datasourceUid).toBe('tempo');
    // Grafana expands $VAR in provisioning files: its own ${__value.raw} must be written $${…}.
    expect(derived.url).toBe('$${__value.raw}');
    const line = JSON.stringify({
      level: 'info',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: 'x',
    });
    expect(new RegExp(derived.matcherRegex).exec(line)?.[1]).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('the Tempo → Prometheus queries read only exported metrics', () => {
    for (const { query: q } of byUid.get('tempo').jsonData.tracesToMetrics.queries) {
      const refs = promqlReferences(q.replace(/\$\$__tags/g, 'service="gateway"'));
      expect(refs.metrics).toEqual(['http_request_duration_seconds_count']);
    }
  });

  it('dashboards parse, have unique uids and panel ids, and refer only to provisioned datasources of the right type', () => {
    expect(DASHBOARDS.map((d) => d.file)).toEqual([
      'auth.json',
      'events.json',
      'files.json',
      'gateway.json',
      'jobs.json',
      'notes.json',
      'overview.json',
    ]);
    expect(new Set(DASHBOARDS.map((d) => d.json.uid)).size).toBe(DASHBOARDS.length);
    for (const dashboard of DASHBOARDS) {
      const ids = panelsOf(dashboard).map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const panel of panelsOf(dashboard)) {
        expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      }
      for (const ref of datasourceRefs(dashboard.json)) {
        if (ref.type === 'grafana') continue; // the built-in annotations source
        expect({ file: dashboard.file, ref, provisioned: byUid.get(ref.uid)?.type }).toEqual({
          file: dashboard.file,
          ref,
          provisioned: ref.type,
        });
      }
    }
  });

  it('dashboard log panels select only labels promtail sets', () => {
    const promtailLabels = new Set(['service', 'level', 'container', 'compose_project']);
    for (const dashboard of DASHBOARDS) {
      for (const q of dashboardQueries(dashboard).filter((x) => x.datasource.type === 'loki')) {
        const selector = /^\{([^}]*)\}/.exec(q.expr.trim());
        if (!selector) throw new Error(`${dashboard.file} "${q.where}": no stream selector in ${q.expr}`);
        for (const [, label] of selector[1]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
          expect({ where: `${dashboard.file} ${q.where}`, label, set: promtailLabels.has(label!) }).toEqual({
            where: `${dashboard.file} ${q.where}`,
            label,
            set: true,
          });
        }
      }
    }
  });

  it('the dashboard provider loads the dashboards directory into one folder, read-only', () => {
    expect(providers.providers).toEqual([
      expect.objectContaining({
        type: 'file',
        allowUiUpdates: false,
        options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }),
      }),
    ]);
    expect(stringify(providers)).not.toMatch(/password|secret/i);
  });
});
