import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { helmTemplate } from '../chart/helm.mjs';

export const ROOT = join(__dirname, '..', '..');
export const CHART_DIR = join(ROOT, 'charts', 'skreaver');

export const COMPONENTS = ['agent-api', 'ws-gateway', 'mesh-coordinator'] as const;
export type Component = (typeof COMPONENTS)[number];

/** A rendered Kubernetes object (the fields the tests read). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Tests read arbitrary paths of rendered manifests.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** `--set` and `--set-string` pairs, as an operator types them. */
  set?: string[];
  setString?: string[];
  /** The chart directory (default charts/skreaver), e.g. an umbrella chart that depends on it. */
  chart?: string;
}

/** `helm template <release> charts/skreaver` (real Helm) with `values` on top, as objects (hooks included). */
export function render(values: Record<string, unknown> = {}, options: RenderOptions = {}): K8sObject[] {
  const { chart = CHART_DIR, ...rest } = options;
  return helmTemplate(chart, { values, ...rest }).manifests.map((m: { object: unknown }) => m.object as K8sObject);
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered; have ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export function readText(relativePath: string): string {
  return readFileSync(join(ROOT, relativePath), 'utf8');
}

/**
 * Fails (does not skip) when a tool an ops test needs is missing: `.ci/run` installs them from Debian's packages
 * (promtool from `prometheus`, `nginx-light`, `shellcheck`, `postgresql-client`, `docker-compose`, `yamllint`), and
 * the README lists them.
 */
export function requireTool(binary: string, versionArgs: string[] = ['--version'], debianPackage = binary): void {
  const result = spawnSync(binary, versionArgs, { stdio: 'ignore' });
  if (result.error || result.status !== 0) {
    throw new Error(`${binary} is not installed here; it is a test prerequisite: apt-get install -y ${debianPackage} (.ci/run does)`);
  }
}

/** A values object enabling every optional part of the chart. */
export const EVERYTHING_ON = {
  image: { registry: 'ghcr.io/acme', tag: '1.2.3' },
  secret: {
    create: true,
    values: { JWT_SECRET_KEY: 'jwt-secret', DATABASE_URL: 'postgres://u:p@db:5432/skreaver', REDIS_URL: 'redis://redis:6379', SKREAVER_ADMIN_API_KEY: 'sk_admin' },
  },
  services: {
    'ws-gateway': { keda: { enabled: true, prometheus: { serverAddress: 'http://prometheus:9090' } } },
    'mesh-coordinator': { keda: { enabled: true, redis: { address: 'redis:6379' } } },
  },
  ingress: { enabled: true, host: 'skreaver.example.com', tls: [{ hosts: ['skreaver.example.com'], secretName: 'skreaver-tls' }] },
  metrics: { serviceMonitor: { enabled: true, labels: { release: 'kps' } }, prometheusRule: { enabled: true } },
  migrations: { job: { enabled: true } },
  networkPolicy: {
    enabled: true,
    ingressFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
    metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
  },
};
