#!/usr/bin/env node
// `npm run bench [-- --only http,mesh --quick --profile]`: builds the services and bench/src (swc, like
// `npm run build`), then runs bench/dist/main.js with the same arguments. Not part of `npm test`.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildAll, buildProject } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await buildAll();
await buildProject(join(root, 'bench'));
const child = spawn(process.execPath, ['--expose-gc', join(root, 'bench', 'dist', 'main.js'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  cwd: root,
});
const forward = (signal) => child.kill(signal);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
