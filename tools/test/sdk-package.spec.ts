import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { minifySync } from '@swc/core';

import { ROOT } from './ops-fixtures';

const SDK = join(ROOT, 'libs', 'sdk');
const ESM = join(SDK, 'dist', 'esm');
/** Budget of the browser bundle, minified and gzipped (issue 16: ≤ 15 kB without socket.io-client). */
const GZIP_BUDGET_BYTES = 15 * 1024;

const esmFiles = () => readdirSync(ESM).filter((name) => name.endsWith('.js'));

// @skreaver/sdk as it would be published: the repo's build (tools/build.mjs) writes CommonJS to dist/ and ES modules
// to dist/esm/; the browser entry must load without Node, and fit the size budget.
describe('the @skreaver/sdk package', () => {
  beforeAll(() => {
    const build = spawnSync(process.execPath, [join(ROOT, 'tools', 'build.mjs'), 'libs/sdk'], { cwd: ROOT, encoding: 'utf8' });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
  });

  it('should point its exports at the built ES module and CommonJS entries', () => {
    const manifest = JSON.parse(readFileSync(join(SDK, 'package.json'), 'utf8'));
    expect(manifest.name).toBe('@skreaver/sdk');
    const entry = manifest.exports['.'];
    const targets = [entry.browser, entry.import, entry.require].flatMap((condition) => [condition.types, condition.default]);
    for (const file of [...targets, manifest.main, manifest.module, manifest.types, manifest.browser]) expect({ file, exists: existsSync(join(SDK, file)) }).toEqual({ file, exists: true });
    expect(entry.browser.default).toBe('./dist/esm/index.js');
    // What publishing needs, and no dependency: the SDK runs on fetch; socket.io-client is an optional peer.
    expect(manifest).toMatchObject({ license: 'MIT', sideEffects: false, peerDependenciesMeta: { 'socket.io-client': { optional: true } } });
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.private).toBeUndefined();
    expect(JSON.parse(readFileSync(join(ESM, 'package.json'), 'utf8'))).toEqual({ type: 'module' });
  });

  it('should load as an ES module and as CommonJS, with the same exports', () => {
    const names = (code: string, type: 'module' | 'commonjs') => {
      const run = spawnSync(process.execPath, [`--input-type=${type}`, '-e', code], { cwd: ROOT, encoding: 'utf8' });
      expect(run.stderr).toBe('');
      return JSON.parse(run.stdout) as string[];
    };
    const esm = names(`const m = await import(${JSON.stringify(join(ESM, 'index.js'))}); console.log(JSON.stringify(Object.keys(m).sort()))`, 'module');
    const cjs = names(`console.log(JSON.stringify(Object.keys(require(${JSON.stringify(join(SDK, 'dist', 'index.js'))})).sort()))`, 'commonjs');
    expect(esm).toEqual(cjs);
    expect(esm).toEqual(expect.arrayContaining(['SkreaverClient', 'SkreaverError', 'RunEventStream', 'SseParser']));
  });

  it('should import nothing but its own modules in the browser build (no Node built-ins, no zod, no globals of Node)', () => {
    for (const file of esmFiles()) {
      const code = readFileSync(join(ESM, file), 'utf8');
      const specifiers = [...code.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((match) => match[1]);
      expect({ file, foreign: specifiers.filter((specifier) => !specifier?.startsWith('./')) }).toEqual({ file, foreign: [] });
      expect({ file, node: /\b(require\(|process\.|Buffer\.|__dirname)/.test(code) }).toEqual({ file, node: false });
    }
  });

  it(`should fit the browser bundle in ${GZIP_BUDGET_BYTES} bytes minified and gzipped`, () => {
    // No bundler in the repo: every ES module minified, concatenated (imports between them are a few bytes), gzipped.
    const minified = esmFiles()
      .map((file) => minifySync(readFileSync(join(ESM, file), 'utf8'), { module: true, compress: true, mangle: true }).code)
      .join('\n');
    const gzipped = gzipSync(minified, { level: 9 }).length;
    process.stdout.write(`@skreaver/sdk browser build: ${minified.length} bytes minified, ${gzipped} bytes gzipped\n`);
    expect(gzipped).toBeGreaterThan(1_000);
    expect(gzipped).toBeLessThanOrEqual(GZIP_BUDGET_BYTES);
  });
});

/** Runs a command that must succeed; its stdout. */
function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' } });
  expect({ command: `${command} ${args.join(' ')}`, status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
    command: `${command} ${args.join(' ')}`,
    status: 0,
    stderr: '',
  });
  return result.stdout;
}

// The package as a user outside this repository gets it: `npm pack`, installed into an empty project in the system's
// temporary folder (offline: the SDK has no dependencies, so nothing is fetched), then used from CommonJS, from an ES
// module, and type-checked with strict TypeScript against the packed declarations only.
describe('the packed @skreaver/sdk, installed outside the repository', () => {
  let consumer: string;
  let packed: string[];

  beforeAll(() => {
    consumer = mkdtempSync(join(tmpdir(), 'skreaver-sdk-consumer-'));
    // The package's prepack script builds it; run here on its own, so that stdout is only npm's JSON.
    run(process.execPath, [join(ROOT, 'tools', 'build.mjs'), 'libs/sdk'], ROOT);
    const listing = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', consumer], SDK)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const [tarball] = listing;
    packed = tarball?.files.map((file) => file.path) ?? [];
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true }));
    run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', `./${tarball?.filename}`], consumer);
  }, 120_000);

  afterAll(() => {
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  it('should pack the builds and their declarations, and nothing of the sources', () => {
    expect(packed).toEqual(expect.arrayContaining(['package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/package.json', 'dist/contracts.d.ts']));
    expect(packed.filter((file) => file.startsWith('src/') || file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    for (const file of packed.filter((name) => name.endsWith('.d.ts'))) {
      const text = readFileSync(join(consumer, 'node_modules', '@skreaver', 'sdk', file), 'utf8');
      expect({ file, workspace: /@skreaver\/(?!sdk)|libs\/|from ['"]zod|import\(["']zod/.test(text) }).toEqual({ file, workspace: false });
    }
  });

  it('should work from CommonJS (require) and from an ES module (import), with the same exports', () => {
    const probe = `const client = new sdk.SkreaverClient({ baseUrl: 'http://localhost:8080', token: 't' });
      const error = new sdk.SkreaverError({ status: 404, code: 'not_found', message: 'm' });
      console.log(JSON.stringify({ names: Object.keys(sdk).filter((name) => name !== 'default').sort(), url: client.transport.url('/agents', { limit: 2 }), error: error instanceof Error && error.code }));`;
    writeFileSync(join(consumer, 'cjs.cjs'), `const sdk = require('@skreaver/sdk');\n${probe}\n`);
    writeFileSync(join(consumer, 'esm.mjs'), `import * as sdk from '@skreaver/sdk';\n${probe}\n`);
    const cjs = JSON.parse(run(process.execPath, ['cjs.cjs'], consumer));
    const esm = JSON.parse(run(process.execPath, ['esm.mjs'], consumer));
    expect(cjs).toEqual(esm);
    expect(cjs).toMatchObject({ url: 'http://localhost:8080/agents?limit=2', error: 'not_found' });
    expect(cjs.names).toEqual(expect.arrayContaining(['SkreaverClient', 'SkreaverError', 'RunEventStream', 'AgentEventWatch', 'SseParser', 'isTerminalEvent']));
  });

  it('should type-check a strict TypeScript consumer (ES module and CommonJS) against the packed declarations', () => {
    const program = (format: string) => `import { SkreaverClient, SkreaverError, isTerminalEvent } from '@skreaver/sdk';
import type { Agent, RunEventV1, RunStatus, SkreaverClientOptions, StreamState } from '@skreaver/sdk';

const options: SkreaverClientOptions = { baseUrl: 'http://localhost:8080', apiKey: 'sk_example', gatewayUrl: 'http://localhost:8081' };
const client = new SkreaverClient(options);

export async function ${format}(signal: AbortSignal): Promise<RunStatus> {
  const agent: Agent = await client.agents.create({ name: 'greeter', kind: 'echo', config: {} }, { signal });
  const run = await client.runs.create(agent.id, { message: 'hello' }, { wait: 10, idempotencyKey: 'order-42' });
  const states: StreamState[] = [];
  for await (const event of client.runs.stream(run.id, { after: undefined, signal, onState: (state) => states.push(state) })) {
    const typed: RunEventV1 = event;
    if (typed.type === 'run.completed' && isTerminalEvent(typed)) break;
  }
  try {
    await client.agents.get('missing');
  } catch (error) {
    if (error instanceof SkreaverError && error.code === 'not_found') return 'failed';
  }
  // @ts-expect-error an agent's name is a string (the packed types are the API's, not any)
  await client.agents.create({ name: 42, kind: 'echo', config: {} });
  // @ts-expect-error no such run status
  const wrong: RunStatus = 'sleeping';
  return wrong ?? run.status;
}
`;
    writeFileSync(join(consumer, 'consumer.mts'), program('esm'));
    writeFileSync(join(consumer, 'consumer.cts'), program('cjs'));
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        // DOM: the SDK's types use fetch's (Response, RequestInit, AbortSignal), as Node 20's own @types/node would give.
        compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom', 'dom.iterable'], types: [], skipLibCheck: false },
        files: ['consumer.mts', 'consumer.cts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: consumer, encoding: 'utf8' });
    expect({ status: tsc.status, output: tsc.stdout + tsc.stderr }).toEqual({ status: 0, output: '' });
  }, 60_000);
});
