import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { observabilityFile, PROMETHEUS_DIR, readYaml, type Yaml } from './observability-files';

/**
 * Test copies of the committed configurations. Each changes only what cannot hold on a test
 * machine — host names of the compose network, ports, secret paths, timings measured in minutes —
 * and leaves the logic under test (scrape jobs, relabelling, routes, inhibition) as committed.
 */

/** Host names the committed scrape config uses for each service (compose service names). */
const COMPOSE_HOSTS: Record<string, string> = {
  gateway: 'gateway',
  auth: 'auth',
  files: 'files',
  events: 'events',
  jobs: 'jobs',
  notes: 'notes',
};

/**
 * The Kubernetes file with kubernetes_sd_configs swapped for a static target. Debian's
 * Prometheus 2.42 (the one installable here) is built without Kubernetes discovery, so promtool
 * refuses the key itself; everything else — relabel rules, regexes, rule files — is still
 * checked. Written next to alerts.yml so rule_files resolves as it will in production.
 */
export function writeK8sConfigForPromtool(dir: string): string {
  const doc = readYaml(path.join(PROMETHEUS_DIR, 'prometheus.k8s.yml'));
  for (const job of doc.scrape_configs) {
    if (job.kubernetes_sd_configs) {
      delete job.kubernetes_sd_configs;
      job.static_configs = [{ targets: ['pod.invalid:3000'] }];
    }
  }
  fs.copyFileSync(path.join(PROMETHEUS_DIR, 'alerts.yml'), path.join(dir, 'alerts.yml'));
  const file = path.join(dir, 'prometheus.k8s.yml');
  fs.writeFileSync(file, stringify(doc));
  return file;
}

/** A pod as Kubernetes discovery would describe it: the labels relabel_configs read. */
export interface FakePod {
  name: string;
  app: string;
  /** The address discovery reports (pod IP and the first declared container port). */
  address: string;
  annotations: Record<string, string>;
  phase?: string;
  partOf?: string;
}

const metaLabels = (pod: FakePod): Record<string, string> => {
  const labels: Record<string, string> = {
    __meta_kubernetes_namespace: 'tenantmesh',
    __meta_kubernetes_pod_name: pod.name,
    __meta_kubernetes_pod_phase: pod.phase ?? 'Running',
    __meta_kubernetes_pod_label_app_kubernetes_io_name: pod.app,
    __meta_kubernetes_pod_label_app_kubernetes_io_part_of: pod.partOf ?? 'tenantmesh',
  };
  for (const [key, value] of Object.entries(pod.annotations)) {
    labels[`__meta_kubernetes_pod_annotation_${key.replace(/[^a-zA-Z0-9]/g, '_')}`] = value;
  }
  return labels;
};

/**
 * A Prometheus configuration for a real Prometheus on this machine:
 * - the committed compose scrape job, its targets pointed at the running services' ports;
 * - the committed Kubernetes job, renamed tenantmesh-k8s, its discovery replaced by static
 *   targets carrying the __meta_kubernetes_* labels of `pods`, so its relabelling runs for real;
 * - the committed alerts.yml; scrape and evaluation every second.
 * Jobs for hosts that only exist on the compose network (Alertmanager, the backup exporter) and
 * the alerting section are left out.
 */
export function writePrometheusTestConfig(
  dir: string,
  ports: Record<string, number>,
  pods: FakePod[],
): string {
  const compose = readYaml(path.join(PROMETHEUS_DIR, 'prometheus.yml'));
  const k8s = readYaml(path.join(PROMETHEUS_DIR, 'prometheus.k8s.yml'));
  const services = compose.scrape_configs.find((j: Yaml) => j.job_name === 'tenantmesh');
  for (const group of services.static_configs) {
    group.targets = group.targets.map((target: string) => {
      const [host] = target.split(':');
      const service = Object.keys(COMPOSE_HOSTS).find((s) => COMPOSE_HOSTS[s] === host);
      if (!service || ports[service] === undefined)
        throw new Error(`no running service for target ${target}`);
      return `127.0.0.1:${ports[service]}`;
    });
  }
  const podJob = k8s.scrape_configs.find((j: Yaml) => j.job_name === 'tenantmesh');
  delete podJob.kubernetes_sd_configs;
  podJob.job_name = 'tenantmesh-k8s';
  podJob.static_configs = pods.map((pod) => ({ targets: [pod.address], labels: metaLabels(pod) }));

  fs.copyFileSync(path.join(PROMETHEUS_DIR, 'alerts.yml'), path.join(dir, 'alerts.yml'));
  const doc = {
    global: { ...compose.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: compose.rule_files,
    scrape_configs: [services, podJob],
  };
  const file = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(file, stringify(doc));
  return file;
}

/**
 * alertmanager.yml for a real Alertmanager: every webhook posts to `<sinkUrl>/<receiver>`, each
 * credentials_file is a file in `dir` holding `token-for-<receiver>`, and the group timers are
 * seconds instead of minutes. Routes, matchers, grouping keys and inhibition are as committed.
 */
export function writeAlertmanagerTestConfig(
  dir: string,
  sinkUrl: string,
): { file: string; tokens: Record<string, string> } {
  const doc = readYaml(observabilityFile('alertmanager', 'alertmanager.yml'));
  const tokens: Record<string, string> = {};
  for (const receiver of doc.receivers) {
    for (const hook of receiver.webhook_configs ?? []) {
      hook.url = `${sinkUrl}/${receiver.name}`;
      const auth = hook.http_config?.authorization;
      if (auth?.credentials_file) {
        tokens[receiver.name] = `token-for-${receiver.name}`;
        auth.credentials_file = path.join(dir, path.basename(auth.credentials_file));
        fs.writeFileSync(auth.credentials_file, `${tokens[receiver.name]}\n`, { mode: 0o600 });
      }
    }
  }
  const fast = (route: Yaml) => {
    if (route.group_wait) route.group_wait = '1s';
    if (route.group_interval) route.group_interval = '1s';
    for (const child of route.routes ?? []) fast(child);
  };
  fast(doc.route);
  const file = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(file, stringify(doc));
  return { file, tokens };
}
