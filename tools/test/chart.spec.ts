import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AgentApiConfig } from '../../services/agent-api/src/config';
import { MeshCoordinatorConfig } from '../../services/mesh-coordinator/src/config';
import { WsGatewayConfig } from '../../services/ws-gateway/src/config';
import { helm, parseManifests, parseYaml } from '../chart/helm.mjs';
import { valuesRows } from '../chart/values-docs.mjs';
import { validateObjects } from '../chart/validate.mjs';
import { CHART_DIR, COMPONENTS, EVERYTHING_ON, find, readText, render, ROOT } from './ops-fixtures';
import type { Component, K8sObject } from './ops-fixtures';

const PORTS: Record<Component, number> = { 'agent-api': 8080, 'ws-gateway': 8081, 'mesh-coordinator': 8082 };
const CONFIGS = { 'agent-api': AgentApiConfig, 'ws-gateway': WsGatewayConfig, 'mesh-coordinator': MeshCoordinatorConfig };
// Read by the authentication work (libs/auth) rather than declared in every config schema yet.
const SECRET_ONLY_VARIABLES = ['JWT_SECRET_KEY', 'SKREAVER_ADMIN_API_KEY'];

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } } };

const container = (deployment: K8sObject) => deployment.spec.template.spec.containers[0];
const envOf = (deployment: K8sObject): EnvVar[] => container(deployment).env ?? [];
const envNames = (deployment: K8sObject) => envOf(deployment).map((e) => e.name);

async function expectValid(objects: K8sObject[], options: { externalSecrets?: string[] } = {}) {
  const results = await validateObjects(objects, options);
  const invalid = results.filter((r: { errors: string[] }) => r.errors.length > 0);
  expect(invalid).toEqual([]);
  return results;
}

describe('charts/skreaver', () => {
  describe('with default values', () => {
    const objects = render();

    it('should render a Deployment, Service, ConfigMap, HPA and PDB per service, a ServiceAccount and the helm test Pod, and no Ingress (opt-in)', () => {
      const names = objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();

      const perService = COMPONENTS.flatMap((c) =>
        ['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service'].map((kind) => `${kind}/skreaver-${c}`),
      );
      expect(names).toEqual([...perService, 'Pod/skreaver-test-ready', 'ServiceAccount/skreaver'].sort());
    });

    it('should validate every object against the Kubernetes schemas, strictly, with every reference resolved', async () => {
      const results = await expectValid(objects, { externalSecrets: ['skreaver'] });

      expect(results).toHaveLength(17);
    });

    it.each(COMPONENTS)('should probe %s: liveness and startup on /health, readiness on /ready, on its port', (component) => {
      const main = container(find(objects, 'Deployment', `skreaver-${component}`));

      expect(main.ports).toEqual([{ name: 'http', containerPort: PORTS[component], protocol: 'TCP' }]);
      expect(main.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(main.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(main.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(find(objects, 'Service', `skreaver-${component}`).spec.ports).toEqual([{ name: 'http', port: PORTS[component], targetPort: 'http', protocol: 'TCP' }]);
    });

    it.each(COMPONENTS)('should give %s its own image and the runbook resources', (component) => {
      const main = container(find(objects, 'Deployment', `skreaver-${component}`));

      expect(main.name).toBe(component);
      expect(main.image).toBe(`skreaver/${component}:0.1.0`);
      expect(main.resources).toEqual({ requests: { cpu: '1000m', memory: '1Gi' }, limits: { cpu: '2000m', memory: '2Gi' } });
    });

    it.each(COMPONENTS)('should run %s as non-root, read-only, without privileges', (component) => {
      const pod = find(objects, 'Deployment', `skreaver-${component}`).spec.template.spec;

      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      expect(pod.containers[0].securityContext).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
    });

    it.each(COMPONENTS)('should give %s a termination grace period longer than preStop + SHUTDOWN_TIMEOUT_MS', (component) => {
      const deployment = find(objects, 'Deployment', `skreaver-${component}`);
      const shutdownMs = Number(find(objects, 'ConfigMap', `skreaver-${component}`).data.SHUTDOWN_TIMEOUT_MS);
      const preStopSeconds = Number(container(deployment).lifecycle.preStop.exec.command[1]);

      expect(shutdownMs).toBe(25_000);
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(shutdownMs + preStopSeconds * 1000);
    });

    it.each(COMPONENTS)('should autoscale %s with the runbook HPA (3-20 replicas, CPU 70 %%, memory 80 %%)', (component) => {
      const hpa = find(objects, 'HorizontalPodAutoscaler', `skreaver-${component}`);

      expect(hpa.apiVersion).toBe('autoscaling/v2');
      expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: `skreaver-${component}` });
      expect(hpa.spec.minReplicas).toBe(3);
      expect(hpa.spec.maxReplicas).toBe(20);
      expect(hpa.spec.metrics).toEqual([
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
      ]);
      // The HPA owns the replica count: the Deployment must not reset it on every upgrade.
      expect(find(objects, 'Deployment', `skreaver-${component}`).spec.replicas).toBeUndefined();
    });

    it.each(COMPONENTS)('should keep at most one %s pod voluntarily disrupted', (component) => {
      const pdb = find(objects, 'PodDisruptionBudget', `skreaver-${component}`);

      expect(pdb.spec).toEqual({
        maxUnavailable: 1,
        selector: { matchLabels: { 'app.kubernetes.io/name': 'skreaver', 'app.kubernetes.io/instance': 'skreaver', 'app.kubernetes.io/component': component } },
      });
    });

  });

  describe('Ingress (ingress.enabled=true)', () => {
    const objects = render({ ingress: { enabled: true, host: 'skreaver.example.com' } });
    const routes = (rendered: K8sObject[]) =>
      ['skreaver', 'skreaver-ws'].flatMap((name) =>
        find(rendered, 'Ingress', name).spec.rules.flatMap((rule: { host: string; http: { paths: Array<{ path: string; pathType: string; backend: { service: { name: string; port: { number: number } } } }> } }) =>
          rule.http.paths.map((p) => [rule.host, p.path, p.pathType, p.backend.service.name, p.backend.service.port.number]),
        ),
      );

    it("should route /ws and /socket.io to the gateway and the API's public prefixes to agent-api, on its host", () => {
      const api = ['/agents', '/runs', '/threads', '/mesh', '/auth', '/api-keys', '/audit', '/tools', '/docs', '/openapi.json', '/console'];

      expect(routes(objects)).toEqual([
        ...api.map((path) => ['skreaver.example.com', path, 'Prefix', 'skreaver-agent-api', 8080]),
        ['skreaver.example.com', '/ws', 'Prefix', 'skreaver-ws-gateway', 8081],
        ['skreaver.example.com', '/socket.io', 'Prefix', 'skreaver-ws-gateway', 8081],
      ]);
    });

    it('should never route /metrics, /ready, /health, /debug or the catch-all / to a service', () => {
      const paths = routes(objects).map((r) => r[1] as string);
      const reaches = (path: string) => paths.some((prefix) => path === prefix || path.startsWith(`${prefix.replace(/\/$/, '')}/`));

      for (const path of ['/metrics', '/ready', '/health', '/debug/profile/cpu', '/']) expect({ path, routed: reaches(path) }).toEqual({ path, routed: false });
    });

    it("should route every top-level prefix of agent-api's controllers except the probes and profiling", () => {
      const sources = readdirSync(join(ROOT, 'services/agent-api/src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.controller.ts'));
      const prefixes = new Set<string>();
      for (const file of sources) {
        const text = readText(`services/agent-api/src/${file}`);
        const base = /@Controller\('([^']*)'\)/.exec(text)?.[1] ?? '';
        for (const route of text.matchAll(/@(?:Get|Post|Put|Patch|Delete|Sse|All)\('([^']*)'\)/g)) {
          const first = `${base}/${route[1]}`.replace(/^\/+/, '').split('/')[0];
          if (first) prefixes.add(`/${first}`);
        }
        if (base) prefixes.add(`/${base.split('/')[0]}`);
      }
      const routed = new Set(routes(objects).map((r) => r[1] as string));

      expect([...prefixes].filter((p) => !routed.has(p)).sort()).toEqual([]);
    });

    it('should refuse to render an Ingress without a host, and refuse a probe path in ingress.apiPaths', () => {
      expect(() => render({ ingress: { enabled: true } })).toThrow('ingress.host is required when ingress.enabled is true');
      expect(() => render({ ingress: { enabled: true, host: 'x.example.com', apiPaths: ['/agents', '/metrics'] } })).toThrow("at '/ingress/apiPaths/1'");
    });

    it('should give the gateway routes long WebSocket timeouts and cookie affinity, and the API the runbook body limit', () => {
      expect(find(objects, 'Ingress', 'skreaver-ws').metadata.annotations).toMatchObject({
        'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
        'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
        'nginx.ingress.kubernetes.io/affinity': 'cookie',
      });
      expect(find(objects, 'Ingress', 'skreaver').metadata.annotations).toMatchObject({ 'nginx.ingress.kubernetes.io/proxy-body-size': '10m' });
      expect(find(objects, 'Ingress', 'skreaver').spec.ingressClassName).toBe('nginx');
    });
  });

  describe('environment wiring', () => {
    const objects = render();
    const secretVar = (deployment: K8sObject, name: string) => envOf(deployment).find((e) => e.name === name)?.valueFrom?.secretKeyRef;

    it('should give every service REDIS_URL from the Secret', () => {
      for (const component of COMPONENTS) {
        expect(secretVar(find(objects, 'Deployment', `skreaver-${component}`), 'REDIS_URL')).toEqual({ name: 'skreaver', key: 'REDIS_URL' });
      }
    });

    it('should give the database variables to the services that open it, the gateway a small pool', () => {
      const api = find(objects, 'Deployment', 'skreaver-agent-api');
      const coordinator = find(objects, 'Deployment', 'skreaver-mesh-coordinator');
      const gateway = find(objects, 'Deployment', 'skreaver-ws-gateway');

      expect(secretVar(api, 'DATABASE_URL')).toEqual({ name: 'skreaver', key: 'DATABASE_URL' });
      expect(secretVar(coordinator, 'DATABASE_URL')).toEqual({ name: 'skreaver', key: 'DATABASE_URL' });
      expect(secretVar(gateway, 'DATABASE_URL')).toEqual({ name: 'skreaver', key: 'DATABASE_URL' });
      expect(find(objects, 'ConfigMap', 'skreaver-ws-gateway').data.DATABASE_POOL_SIZE).toBe('2');
      expect(find(objects, 'ConfigMap', 'skreaver-agent-api').data.DATABASE_POOL_SIZE).toBe('10');
      expect(find(objects, 'ConfigMap', 'skreaver-mesh-coordinator').data.DATABASE_POOL_SIZE).toBe('10');
    });

    it('should give the JWT secret to agent-api and the gateway, and the admin key (optional) to agent-api only', () => {
      expect(envNames(find(objects, 'Deployment', 'skreaver-agent-api'))).toEqual(expect.arrayContaining(['JWT_SECRET_KEY', 'SKREAVER_ADMIN_API_KEY']));
      expect(secretVar(find(objects, 'Deployment', 'skreaver-agent-api'), 'SKREAVER_ADMIN_API_KEY')?.optional).toBe(true);
      expect([...envNames(find(objects, 'Deployment', 'skreaver-ws-gateway'))].sort()).toEqual(['DATABASE_URL', 'JWT_SECRET_KEY', 'REDIS_URL']);
      // The coordinator checks admin tokens on its profiling routes (SKREAVER_ENABLE_PROFILING=true).
      expect([...envNames(find(objects, 'Deployment', 'skreaver-mesh-coordinator'))].sort()).toEqual(['DATABASE_URL', 'JWT_SECRET_KEY', 'REDIS_URL', 'WORKER_ID']);
    });

    it.each(COMPONENTS)("should tell %s the size limit of its data volume, so the disk metrics measure that volume", (component) => {
      const rendered = render({ dataVolume: { sizeLimitMiB: 512 } });
      const volume = find(rendered, 'Deployment', `skreaver-${component}`).spec.template.spec.volumes.find((v: { name: string }) => v.name === 'data');

      expect(volume.emptyDir.sizeLimit).toBe('512Mi');
      expect(find(rendered, 'ConfigMap', `skreaver-${component}`).data.SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES).toBe(String(512 * 1024 * 1024));
    });

    it('should name each coordinator worker after its pod', () => {
      const workerId = envOf(find(objects, 'Deployment', 'skreaver-mesh-coordinator')).find((e) => e.name === 'WORKER_ID');

      expect(workerId?.valueFrom?.fieldRef).toEqual({ fieldPath: 'metadata.name' });
    });

    it.each(COMPONENTS)("should set only variables %s's config schema knows, with values it accepts", (component) => {
      const configMap = find(objects, 'ConfigMap', `skreaver-${component}`).data as Record<string, string>;
      const deployment = find(objects, 'Deployment', `skreaver-${component}`);
      const known = new Set([...Object.keys(CONFIGS[component].shape), ...SECRET_ONLY_VARIABLES]);
      const fromSecrets = {
        REDIS_URL: 'redis://redis:6379',
        DATABASE_URL: 'postgres://u:p@db/skreaver',
        JWT_SECRET_KEY: 'a-jwt-secret-of-at-least-32-characters-0123456789',
        SKREAVER_ADMIN_API_KEY: 'sk_abcde12345_0123456789abcdefghijABCDEFGHIJ_-xyz',
        WORKER_ID: 'pod-0',
      };
      const environment = Object.fromEntries(envNames(deployment).map((name) => [name, fromSecrets[name as keyof typeof fromSecrets] ?? 'x']));

      expect([...Object.keys(configMap), ...envNames(deployment)].filter((name) => !known.has(name))).toEqual([]);
      expect(Object.values(configMap).every((value) => typeof value === 'string')).toBe(true);
      expect(() => CONFIGS[component].load({ ...configMap, ...environment })).not.toThrow();
      expect(container(deployment).envFrom).toEqual([{ configMapRef: { name: `skreaver-${component}` } }]);
    });

    it('should read a variable from another Secret when secret.refs names one', () => {
      const refs = { DATABASE_URL: { name: 'pg-app', key: 'uri' } };
      const rendered = render({ secret: { refs } });

      expect(secretVar(find(rendered, 'Deployment', 'skreaver-agent-api'), 'DATABASE_URL')).toEqual({ name: 'pg-app', key: 'uri' });
      expect(secretVar(find(rendered, 'Deployment', 'skreaver-mesh-coordinator'), 'DATABASE_URL')).toEqual({ name: 'pg-app', key: 'uri' });
    });

    it('should roll the pods when their configuration changes', () => {
      const checksum = (rendered: K8sObject[]) => find(rendered, 'Deployment', 'skreaver-agent-api').spec.template.metadata.annotations['checksum/config'];

      expect(checksum(render({ config: { logLevel: 'debug' } }))).not.toBe(checksum(objects));
      expect(checksum(render({ services: { 'ws-gateway': { env: { WS_MAX_MESSAGE_BYTES: '1024' } } } }))).toBe(checksum(objects));
    });
  });

  describe('with overrides', () => {
    it('should validate with every optional part enabled', async () => {
      const objects = render(EVERYTHING_ON);

      const results = await expectValid(objects);

      expect(results.map((r: { id: string }) => r.id)).toEqual(
        expect.arrayContaining(['Secret/skreaver', 'ServiceMonitor/skreaver', 'PrometheusRule/skreaver', 'ScaledObject/skreaver-mesh-coordinator', 'ScaledObject/skreaver-ws-gateway', 'Job/skreaver-migrations']),
      );
    });

    it('should name everything after another release, in another namespace, and still validate', async () => {
      const objects = render({}, { release: 'prod', namespace: 'agents' });

      expect(objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name)).toEqual([
        'prod-skreaver-agent-api',
        'prod-skreaver-mesh-coordinator',
        'prod-skreaver-ws-gateway',
      ]);
      await expectValid(objects, { externalSecrets: ['prod-skreaver'] });
    });

    it('should take the registry and tag for every image, and a service tag over both', () => {
      const objects = render({ image: { registry: 'ghcr.io/acme/', tag: '1.2.3' }, services: { 'ws-gateway': { image: { tag: '1.2.4-hotfix' } } } });

      expect(container(find(objects, 'Deployment', 'skreaver-agent-api')).image).toBe('ghcr.io/acme/skreaver/agent-api:1.2.3');
      expect(container(find(objects, 'Deployment', 'skreaver-ws-gateway')).image).toBe('ghcr.io/acme/skreaver/ws-gateway:1.2.4-hotfix');
      expect(container(find(objects, 'Deployment', 'skreaver-mesh-coordinator')).image).toBe('ghcr.io/acme/skreaver/mesh-coordinator:1.2.3');
    });

    it('should apply per-service HPA overrides to that service only', () => {
      const objects = render({ services: { 'ws-gateway': { autoscaling: { maxReplicas: 50, targetMemoryUtilizationPercentage: null } } } });

      const gateway = find(objects, 'HorizontalPodAutoscaler', 'skreaver-ws-gateway');
      expect(gateway.spec.maxReplicas).toBe(50);
      expect(gateway.spec.metrics.map((m: { resource: { name: string } }) => m.resource.name)).toEqual(['cpu']);
      expect(find(objects, 'HorizontalPodAutoscaler', 'skreaver-agent-api').spec.maxReplicas).toBe(20);
    });

    it('should set fixed replicas and render no HPA when autoscaling is off', () => {
      const objects = render({ services: { 'agent-api': { autoscaling: { enabled: false }, replicaCount: 5 } } });

      expect(objects.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === 'skreaver-agent-api')).toBe(false);
      expect(find(objects, 'Deployment', 'skreaver-agent-api').spec.replicas).toBe(5);
    });

    it('should take minAvailable for a PDB instead of maxUnavailable', () => {
      const pdb = find(render({ services: { 'mesh-coordinator': { pdb: { minAvailable: 2 } } } }), 'PodDisruptionBudget', 'skreaver-mesh-coordinator');

      expect(pdb.spec.minAvailable).toBe(2);
      expect(pdb.spec).not.toHaveProperty('maxUnavailable');
    });

    it('should stretch the grace period with SHUTDOWN_TIMEOUT_MS', () => {
      const objects = render({ config: { shutdownTimeoutMs: 60_500 } });
      const deployment = find(objects, 'Deployment', 'skreaver-mesh-coordinator');

      expect(find(objects, 'ConfigMap', 'skreaver-mesh-coordinator').data.SHUTDOWN_TIMEOUT_MS).toBe('60500');
      expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(61 + 5 + 5);
    });

    it('should put the host and TLS on both Ingresses, and render none when disabled', () => {
      const objects = render(EVERYTHING_ON);

      for (const name of ['skreaver', 'skreaver-ws']) {
        expect(find(objects, 'Ingress', name).spec.rules[0].host).toBe('skreaver.example.com');
        expect(find(objects, 'Ingress', name).spec.tls).toEqual([{ hosts: ['skreaver.example.com'], secretName: 'skreaver-tls' }]);
      }
      expect(render().filter((o) => o.kind === 'Ingress')).toEqual([]);
    });
  });

  describe('monitoring', () => {
    const objects = render(EVERYTHING_ON);

    it('should scrape /metrics of the three Services', () => {
      const monitor = find(objects, 'ServiceMonitor', 'skreaver');
      const services = objects.filter((o) => o.kind === 'Service');

      expect(monitor.metadata.labels?.release).toBe('kps');
      // The alerts select on skreaver_service (the Service's component label), whatever the release calls the jobs.
      expect(monitor.spec.endpoints).toEqual([
        {
          port: 'http',
          path: '/metrics',
          interval: '30s',
          scrapeTimeout: '10s',
          relabelings: [{ sourceLabels: ['__meta_kubernetes_service_label_app_kubernetes_io_component'], targetLabel: 'skreaver_service' }],
        },
      ]);
      for (const service of services) expect(COMPONENTS).toContain(service.metadata.labels?.['app.kubernetes.io/component']);
      for (const service of services) {
        expect(Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => service.metadata.labels?.[k] === v)).toBe(true);
      }
      expect(services).toHaveLength(3);
    });

    it('should carry exactly the rules of deploy/prometheus/alerts.yml', () => {
      expect(find(objects, 'PrometheusRule', 'skreaver').spec).toEqual(parseYaml(readText('deploy/prometheus/alerts.yml')));
    });

    it('should render no monitoring objects unless asked', () => {
      expect(render().filter((o) => ['ServiceMonitor', 'PrometheusRule', 'ScaledObject', 'Job', 'Secret'].includes(o.kind))).toEqual([]);
    });
  });

  describe('KEDA', () => {
    const objects = render(EVERYTHING_ON);

    it('should scale the coordinator on the waiting jobs of the run queue (its consumer group lag), and CPU', () => {
      const scaled = find(objects, 'ScaledObject', 'skreaver-mesh-coordinator');

      expect(scaled.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'skreaver-mesh-coordinator' });
      expect(scaled.spec.triggers[0]).toEqual({
        type: 'redis-streams',
        metadata: { address: 'redis:6379', stream: '{skreaver}:sq:runs.v1:jobs', consumerGroup: 'workers', lagCount: '32', databaseIndex: '0', enableTLS: 'false' },
      });
      expect(scaled.spec.triggers[1]).toEqual({ type: 'cpu', metricType: 'Utilization', metadata: { value: '70' } });
      expect([scaled.spec.minReplicaCount, scaled.spec.maxReplicaCount]).toEqual([3, 20]);
    });

    it.each(['skreaver-mesh-coordinator', 'skreaver-ws-gateway'])("should scale %s in as slowly as the chart's HPA: KEDA's HPA gets the same behavior", (name) => {
      const scaled = find(objects, 'ScaledObject', name);
      const hpa = find(render(), 'HorizontalPodAutoscaler', name);

      expect(scaled.spec.advanced.horizontalPodAutoscalerConfig.behavior).toEqual(hpa.spec.behavior);
      expect(hpa.spec.behavior.scaleDown).toEqual({ stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] });
    });

    it('should follow REDIS_KEY_PREFIX in the queue key', () => {
      const scaled = find(render({ ...EVERYTHING_ON, config: { redisKeyPrefix: 'acme-prod' } }), 'ScaledObject', 'skreaver-mesh-coordinator');

      expect(scaled.spec.triggers[0].metadata.stream).toBe('{acme-prod}:sq:runs.v1:jobs');
    });

    it('should scale on the BullMQ list with runQueue "bullmq", and tell both services to use that queue', () => {
      const rendered = render({ ...EVERYTHING_ON, config: { runQueue: 'bullmq' } });
      const scaled = find(rendered, 'ScaledObject', 'skreaver-mesh-coordinator');

      expect(scaled.spec.triggers[0]).toEqual({
        type: 'redis',
        metadata: { address: 'redis:6379', listName: '{skreaver}:runs.v1:wait', listLength: '32', databaseIndex: '0', enableTLS: 'false' },
      });
      for (const service of ['agent-api', 'mesh-coordinator']) {
        expect(find(rendered, 'ConfigMap', `skreaver-${service}`).data.RUN_QUEUE).toBe('bullmq');
      }
      expect(find(rendered, 'ConfigMap', 'skreaver-ws-gateway').data.RUN_QUEUE).toBeUndefined();
      expect(find(objects, 'ConfigMap', 'skreaver-mesh-coordinator').data.RUN_QUEUE).toBe('streams');
    });

    it('should scale the gateway on its live connections', () => {
      const trigger = find(objects, 'ScaledObject', 'skreaver-ws-gateway').spec.triggers[0];

      expect(trigger).toEqual({
        type: 'prometheus',
        metadata: {
          serverAddress: 'http://prometheus:9090',
          query: 'sum(websocket_connections_active{namespace="default",service="skreaver-ws-gateway"})',
          threshold: '5000',
        },
      });
    });

    it('should leave the replica count to KEDA: no HPA and no replicas for a KEDA-scaled service', () => {
      const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata.name);

      expect(hpas).toEqual(['skreaver-agent-api']);
      expect(find(objects, 'Deployment', 'skreaver-mesh-coordinator').spec.replicas).toBeUndefined();
    });

    it('should scale on the queue of a Redis Cluster with the cluster scalers', () => {
      const services = { 'mesh-coordinator': { keda: { enabled: true, redis: { address: '', addresses: 'rc-0:6379,rc-1:6379' } } } };
      const streams = find(render({ ...EVERYTHING_ON, services }), 'ScaledObject', 'skreaver-mesh-coordinator');
      const bullmq = find(render({ ...EVERYTHING_ON, services, config: { runQueue: 'bullmq' } }), 'ScaledObject', 'skreaver-mesh-coordinator');

      expect(streams.spec.triggers[0]).toEqual({
        type: 'redis-cluster-streams',
        metadata: { addresses: 'rc-0:6379,rc-1:6379', stream: '{skreaver}:sq:runs.v1:jobs', consumerGroup: 'workers', lagCount: '32', enableTLS: 'false' },
      });
      expect(bullmq.spec.triggers[0]).toEqual({
        type: 'redis-cluster',
        metadata: { addresses: 'rc-0:6379,rc-1:6379', listName: '{skreaver}:runs.v1:wait', listLength: '32', enableTLS: 'false' },
      });
    });

    it('should refuse to render the coordinator ScaledObject without a Redis address', () => {
      expect(() => render({ services: { 'mesh-coordinator': { keda: { enabled: true } } } })).toThrow(
        'services.mesh-coordinator.keda.redis.address is required when KEDA is enabled',
      );
    });
  });

  describe('secrets and migrations', () => {
    it('should create the Secret from values when asked, and require its values', () => {
      const secret = find(render(EVERYTHING_ON), 'Secret', 'skreaver');

      expect(Object.keys(secret.stringData).sort()).toEqual(['DATABASE_URL', 'JWT_SECRET_KEY', 'REDIS_URL', 'SKREAVER_ADMIN_API_KEY']);
      expect(() => render({ secret: { create: true, values: { DATABASE_URL: 'postgres://db/x', REDIS_URL: 'redis://r:6379' } } })).toThrow(
        'secret.values.JWT_SECRET_KEY is required',
      );
    });

    it('should run the opt-in migration Job before install and upgrade, from the agent-api image', () => {
      const objects = render(EVERYTHING_ON);
      const job = find(objects, 'Job', 'skreaver-migrations');

      expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
      expect(job.spec.template.spec.containers[0].image).toBe('ghcr.io/acme/skreaver/agent-api:1.2.3');
      expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'services/agent-api/dist/main.js', '--migrate-only']);
    });

    it("should give the hook Job its own hook Secret that removes itself, and keep the release's Secret a normal object", () => {
      const objects = render(EVERYTHING_ON);
      const job = find(objects, 'Job', 'skreaver-migrations');
      const hookSecret = find(objects, 'Secret', 'skreaver-migrations');

      // The hook runs before the release's own objects exist; Helm never deletes hooks on uninstall.
      expect(hookSecret.metadata.annotations).toEqual({
        'helm.sh/hook': 'pre-install,pre-upgrade',
        'helm.sh/hook-weight': '-10',
        'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded,hook-failed',
      });
      expect(hookSecret.stringData).toEqual(find(objects, 'Secret', 'skreaver').stringData);
      expect(find(objects, 'Secret', 'skreaver').metadata.annotations).toBeUndefined();
      const refs = job.spec.template.spec.containers[0].env.filter((e: EnvVar) => e.valueFrom?.secretKeyRef).map((e: EnvVar) => e.valueFrom?.secretKeyRef?.name);
      expect(new Set(refs)).toEqual(new Set(['skreaver-migrations']));
    });

    it("should give up on a stuck migration before helm's default --timeout (5m) does", () => {
      const job = find(render(EVERYTHING_ON), 'Job', 'skreaver-migrations');

      expect(job.spec.activeDeadlineSeconds).toBeLessThan(300);
    });
  });

  describe('hygiene', () => {
    it.each(COMPONENTS)('should spread %s over zones and nodes without blocking scheduling', (component) => {
      const pod = find(render(), 'Deployment', `skreaver-${component}`).spec.template.spec;
      const selector = { 'app.kubernetes.io/name': 'skreaver', 'app.kubernetes.io/instance': 'skreaver', 'app.kubernetes.io/component': component };

      expect(pod.topologySpreadConstraints).toEqual(
        ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({ maxSkew: 1, topologyKey, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } })),
      );
    });

    it('should let NetworkPolicies (opt-in) admit the release, the edge to api and gateway only, and Prometheus everywhere', () => {
      const objects = render(EVERYTHING_ON);
      const peers = (name: string) => find(objects, 'NetworkPolicy', name).spec.ingress[0].from.map((p: object) => JSON.stringify(p));
      const release = JSON.stringify({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'skreaver', 'app.kubernetes.io/instance': 'skreaver' } } });
      const [edge, prometheus] = [EVERYTHING_ON.networkPolicy.ingressFrom[0], EVERYTHING_ON.networkPolicy.metricsFrom[0]].map((p) => JSON.stringify(p));

      expect(peers('skreaver-agent-api')).toEqual([release, edge, prometheus]);
      expect(peers('skreaver-ws-gateway')).toEqual([release, edge, prometheus]);
      expect(peers('skreaver-mesh-coordinator')).toEqual([release, prometheus]);
      expect(find(objects, 'NetworkPolicy', 'skreaver-agent-api').spec.ingress[0].ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
      expect(render().filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
    });

    it('should ship a helm test Pod that reads /ready of every Service, hardened like the services', () => {
      const pod = find(render(), 'Pod', 'skreaver-test-ready');

      expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
      expect(pod.spec.containers[0].args.slice(1)).toEqual(['http://skreaver-agent-api:8080/ready', 'http://skreaver-mesh-coordinator:8082/ready', 'http://skreaver-ws-gateway:8081/ready']);
      expect(pod.spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
    });

    it("should make the helm test's script pass on 200s and fail on a 503", async () => {
      const script = find(render(), 'Pod', 'skreaver-test-ready').spec.containers[0].args[0] as string;
      const server = createServer((req, res) => {
        res.statusCode = req.url === '/down' ? 503 : 200;
        res.end('{}');
      });
      const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
      const run = (...paths: string[]) =>
        new Promise<number | null>((resolve) => execFile(process.execPath, ['-e', script, ...paths.map((p) => `http://127.0.0.1:${port}${p}`)], (error) => resolve(error ? (error.code as number) : 0)));
      try {
        expect(await run('/a', '/b')).toBe(0);
        expect(await run('/a', '/down')).toBe(1);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('should document every value in its README table (npm run chart:readme)', () => {
      const result = spawnSync(process.execPath, [join(ROOT, 'tools', 'chart', 'cli.mjs'), 'readme', '--check'], { encoding: 'utf8' });
      const rows = valuesRows(readText('charts/skreaver/values.yaml')).map((r: { path: string }) => r.path);

      expect(`${result.status} ${result.stderr}`).toBe('0 ');
      for (const path of ['fullnameOverride', 'ingress.host', 'ingress.apiPaths', 'networkPolicy.enabled', 'migrations.job.activeDeadlineSeconds', 'services.ws-gateway.keda.enabled']) {
        expect(rows).toContain(path);
        expect(readText('charts/skreaver/README.md')).toContain(`| \`${path}\` |`);
      }
    });

    it('should ship the lockdown NetworkPolicy the runbook applies: every skreaver pod, nothing in or out', async () => {
      const [policy] = parseManifests(readText('deploy/kubernetes/network-policy-lockdown.yaml')).map((m: { object: unknown }) => m.object as K8sObject);
      const pod = find(render(), 'Deployment', 'skreaver-agent-api').spec.template.metadata.labels;

      expect(readText('docs/RUNBOOK.md')).toContain('kubectl -n <namespace> apply -f deploy/kubernetes/network-policy-lockdown.yaml');
      expect((await validateObjects([policy])).flatMap((r: { errors: string[] }) => r.errors)).toEqual([]);
      expect(policy.spec).toEqual({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'skreaver' } }, policyTypes: ['Ingress', 'Egress'], ingress: [], egress: [] });
      expect(Object.entries(policy.spec.podSelector.matchLabels).every(([k, v]) => pod[k] === v)).toBe(true);
    });

    it('should keep templates/tests in the packaged chart (.helmignore)', () => {
      const dir = mkdtempSync(join(tmpdir(), 'skreaver-package-'));
      try {
        helm(['package', CHART_DIR, '--destination', dir]);
        const files = spawnSync('tar', ['tzf', join(dir, 'skreaver-0.1.0.tgz')], { encoding: 'utf8' }).stdout.split('\n');

        expect(files).toEqual(expect.arrayContaining(['skreaver/templates/tests/test-ready.yaml', 'skreaver/README.md', 'skreaver/values.schema.json', 'skreaver/files/alerts.yml']));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('values.schema.json', () => {
    it.each([
      ['an unknown service', { services: { agentapi: { port: 1 } } }, "at '/services': additional properties 'agentapi' not allowed"],
      ['a port that is not an integer', { services: { 'agent-api': { port: 'http' } } }, "at '/services/agent-api/port': got string, want integer"],
      ['a non-string service variable', { services: { 'agent-api': { env: { RUN_MAX_ATTEMPTS: 3 } } } }, "at '/services/agent-api/env/RUN_MAX_ATTEMPTS': got number, want string"],
      ['an invalid log level', { config: { logLevel: 'loud' } }, "at '/config/logLevel': 'loud' does not match pattern"],
      ['a non-postgres DATABASE_URL', { secret: { values: { DATABASE_URL: 'mysql://x' } } }, "at '/secret/values/DATABASE_URL': 'mysql://x' does not match pattern"],
    ])('should reject %s', (_what, values, message) => {
      expect(() => render(values)).toThrow(message);
    });
  });

  describe('the validator', () => {
    const objects = render();
    const broken = (mutate: (copy: K8sObject[]) => void) => {
      const copy = JSON.parse(JSON.stringify(objects)) as K8sObject[];
      mutate(copy);
      return copy;
    };
    const errorsOf = async (copy: K8sObject[], id: string) =>
      (await validateObjects(copy, { externalSecrets: ['skreaver'] })).find((r: { id: string }) => r.id === id)?.errors ?? [];

    it('should reject a misspelt field that the JSON schemas alone would let through', async () => {
      const copy = broken((c) => {
        const probe = container(find(c, 'Deployment', 'skreaver-agent-api')).readinessProbe;
        probe.periodSecond = probe.periodSeconds;
      });

      expect((await errorsOf(copy, 'Deployment/skreaver-agent-api')).join('\n')).toMatch(/strict: .*'"?periodSecond"?' does not exist/);
    });

    it('should reject a wrong type, a broken Service selector and a second scaler on one Deployment', async () => {
      const copy = broken((c) => {
        find(c, 'Deployment', 'skreaver-ws-gateway').spec.replicas = '3';
        find(c, 'Service', 'skreaver-mesh-coordinator').spec.selector['app.kubernetes.io/component'] = 'mesh';
        c.push({ ...find(c, 'HorizontalPodAutoscaler', 'skreaver-agent-api'), metadata: { name: 'second-hpa' } });
      });

      expect((await errorsOf(copy, 'Deployment/skreaver-ws-gateway')).join('\n')).toContain('schema: /spec/replicas must be integer');
      expect(await errorsOf(copy, 'Service/skreaver-mesh-coordinator')).toContain('reference: selector matches 0 Deployments (want exactly 1)');
      expect((await errorsOf(copy, 'HorizontalPodAutoscaler/second-hpa')).join('\n')).toContain('is already scaled by HorizontalPodAutoscaler/skreaver-agent-api');
    });

    it('should reject an env var read from a Secret that is not there', async () => {
      expect((await validateObjects(objects)).find((r: { id: string }) => r.id === 'Deployment/skreaver-agent-api')?.errors).toContain(
        'reference: agent-api: env JWT_SECRET_KEY reads missing Secret skreaver',
      );
    });
  });
});
