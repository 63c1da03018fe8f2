import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const REPO_DIR = path.resolve(__dirname, '../../../..');
export const OBSERVABILITY_DIR = path.join(REPO_DIR, 'infra', 'observability');
export const PROMETHEUS_DIR = path.join(OBSERVABILITY_DIR, 'prometheus');
export const DASHBOARDS_DIR = path.join(OBSERVABILITY_DIR, 'grafana', 'dashboards');

export const observabilityFile = (...segments: string[]) => path.join(OBSERVABILITY_DIR, ...segments);

// biome-ignore lint/suspicious/noExplicitAny: parsed configuration is walked structurally and checked as it is read
export type Yaml = any;

/** Parses a YAML file strictly (duplicate keys and bad syntax are errors, not warnings). */
export function readYaml(file: string): Yaml {
  return parse(fs.readFileSync(file, 'utf8'), { uniqueKeys: true, prettyErrors: true });
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(): AlertRule[] {
  const doc = readYaml(path.join(PROMETHEUS_DIR, 'alerts.yml'));
  return (doc.groups as { rules: AlertRule[] }[]).flatMap((g) => g.rules).filter((r) => r.alert);
}

export interface AlertUnitCase {
  test: string;
  alertname: string;
  fires: boolean;
}

/** Every `alert_rule_test` in alerts.test.yml: which alert, and whether it expects it to fire. */
export function alertUnitCases(file = path.join(PROMETHEUS_DIR, 'alerts.test.yml')): AlertUnitCase[] {
  const doc = readYaml(file);
  return (
    doc.tests as { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[]
  ).flatMap((t) =>
    (t.alert_rule_test ?? []).map((c) => ({
      test: t.name,
      alertname: c.alertname,
      fires: (c.exp_alerts ?? []).length > 0,
    })),
  );
}

export interface Datasource {
  type: string;
  uid: string;
}

export interface DashboardQuery {
  dashboard: string;
  /** Panel title, or `variable <name>`. */
  where: string;
  datasource: Datasource;
  expr: string;
  /** A template variable query (Grafana's label_values(…) syntax), not a panel query. */
  variable: boolean;
}

export interface Dashboard {
  file: string;
  json: Yaml;
}

export function dashboards(): Dashboard[] {
  return fs
    .readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(fs.readFileSync(path.join(DASHBOARDS_DIR, file), 'utf8')) }));
}

/** Panels at any depth (rows may hold panels of their own when collapsed). */
export function panelsOf(dashboard: Dashboard): Yaml[] {
  const walk = (panels: Yaml[] = []): Yaml[] => panels.flatMap((p) => [p, ...walk(p.panels)]);
  return walk(dashboard.json.panels);
}

/** Every query in a dashboard — panel targets and template variables — with its datasource. */
export function dashboardQueries(dashboard: Dashboard): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      const datasource = target.datasource ?? panel.datasource;
      if (!datasource?.uid)
        throw new Error(`${dashboard.file}: panel "${panel.title}" has a query without a datasource`);
      queries.push({
        dashboard: dashboard.file,
        where: panel.title,
        datasource,
        expr: target.expr,
        variable: false,
      });
    }
  }
  for (const variable of dashboard.json.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    queries.push({
      dashboard: dashboard.file,
      where: `variable ${variable.name}`,
      datasource: variable.datasource,
      expr: query,
      variable: true,
    });
  }
  return queries;
}

/** Every `{ uid, type }` datasource reference anywhere in a dashboard. */
export function datasourceRefs(node: Yaml, found: Datasource[] = []): Datasource[] {
  if (Array.isArray(node)) for (const item of node) datasourceRefs(item, found);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'datasource' && value && typeof value === 'object') found.push(value as Datasource);
      else datasourceRefs(value, found);
    }
  }
  return found;
}

/** The body of a markdown section (`## title`) up to the next heading of the same level or higher. */
export function markdownSection(text: string, title: string): string | undefined {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${title}`);
  if (start === -1) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^#{1,2} /.test(l));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
