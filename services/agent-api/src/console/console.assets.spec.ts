import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConsoleAssets } from './console.assets';

describe('ConsoleAssets', () => {
  const root = mkdtempSync(join(tmpdir(), 'console-assets-'));
  const consoleDir = join(root, 'console');
  const sdkDir = join(root, 'sdk');
  mkdirSync(consoleDir);
  mkdirSync(sdkDir);
  writeFileSync(join(consoleDir, 'index.html'), '<!DOCTYPE html>');
  writeFileSync(join(consoleDir, 'app.js'), 'export {};');
  writeFileSync(join(consoleDir, 'console.css'), 'body {}');
  writeFileSync(join(consoleDir, '.secret.js'), 'no');
  writeFileSync(join(sdkDir, 'index.js'), 'export const SkreaverClient = 1;');
  writeFileSync(join(sdkDir, 'index.js.map'), '{}');
  writeFileSync(join(root, 'outside.js'), 'no');

  const assets = new ConsoleAssets(consoleDir, sdkDir);

  it('should serve the page, the console files and the SDK modules with their content types', async () => {
    expect(await assets.page()).toEqual({ body: Buffer.from('<!DOCTYPE html>'), contentType: 'text/html; charset=utf-8' });
    expect((await assets.asset('app.js'))?.contentType).toBe('text/javascript; charset=utf-8');
    expect((await assets.asset('console.css'))?.contentType).toBe('text/css; charset=utf-8');
    expect((await assets.asset('sdk/index.js'))?.body.toString()).toBe('export const SkreaverClient = 1;');
  });

  it.each(['../outside.js', 'sdk/../../outside.js', '.secret.js', 'sdk/index.js.map', 'index.js', 'sdk/app.js', '__proto__', 'constructor', '', 'app.js/'])(
    'should find nothing for %j',
    async (name) => {
      expect(await assets.asset(name)).toBeUndefined();
    },
  );

  it('should find nothing while the console folder is missing', async () => {
    const missing = new ConsoleAssets(join(root, 'nope'), join(root, 'nope-either'));
    expect(await missing.page()).toBeUndefined();
  });
});
