import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConsoleAssets } from './console.assets';

describe(ConsoleAssets.name, () => {
  const root = mkdtempSync(join(tmpdir(), 'console-assets-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  mkdirSync(join(dist, 'nested', 'deeper'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!DOCTYPE html>');
  writeFileSync(join(dist, 'assets', 'index-DVkwb3Gq.js'), 'export {};');
  writeFileSync(join(dist, 'assets', 'index-BcEoLBu7.css'), 'body {}');
  writeFileSync(join(dist, 'assets', 'index-DVkwb3Gq.js.map'), '{}');
  writeFileSync(join(dist, 'assets', '.secret.js'), 'no');
  writeFileSync(join(dist, 'nested', 'deeper', 'x.js'), 'no');
  writeFileSync(join(root, 'outside.js'), 'no');

  const sut = new ConsoleAssets(dist);

  it('should serve the page and the hashed bundle files with their content types', async () => {
    expect(await sut.page()).toEqual({ body: Buffer.from('<!DOCTYPE html>'), contentType: 'text/html; charset=utf-8', immutable: false });
    expect(await sut.asset('assets/index-DVkwb3Gq.js')).toEqual({ body: Buffer.from('export {};'), contentType: 'text/javascript; charset=utf-8', immutable: true });
    expect((await sut.asset('assets/index-BcEoLBu7.css'))?.contentType).toBe('text/css; charset=utf-8');
  });

  it.each([
    '../outside.js',
    'assets/../../outside.js',
    'assets/.secret.js',
    'assets/index-DVkwb3Gq.js.map',
    'index-DVkwb3Gq.js',
    'nested/deeper/x.js',
    '__proto__',
    'constructor',
    '',
    'assets/',
    'assets',
  ])('should find nothing for %j', async (name) => {
    expect(await sut.asset(name)).toBeUndefined();
  });

  it('should find nothing while the console is not built', async () => {
    const missing = new ConsoleAssets(join(root, 'nope'));
    expect(await missing.page()).toBeUndefined();
  });
});
