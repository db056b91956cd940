import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
    for (const file of [entry.import, entry.require, entry.types, manifest.main, manifest.module]) expect(existsSync(join(SDK, file))).toBe(true);
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
