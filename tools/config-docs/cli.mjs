#!/usr/bin/env node
// `npm run docs:config`: rewrites the generated table of docs/configuration.md from the services' config schemas
// (builds first, then reads each service's dist/config.js). `--check` only compares and exits 1 when the file is stale
// (the ops test tools/test/docs.spec.ts does the same from the sources, in `npm test`).
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildAll } from '../build.mjs';
import { renderConfigTable, replaceConfigTable } from './render.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const SERVICES = [
  ['agent-api', 'AgentApiConfig'],
  ['ws-gateway', 'WsGatewayConfig'],
  ['mesh-coordinator', 'MeshCoordinatorConfig'],
];

await buildAll();
const table = renderConfigTable(
  SERVICES.map(([service, name]) => ({ service, variables: require(join(root, 'services', service, 'dist', 'config.js'))[name].document() })),
);
const path = join(root, 'docs', 'configuration.md');
const current = readFileSync(path, 'utf8');
const next = replaceConfigTable(current, table);
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error('docs/configuration.md is stale: run `npm run docs:config`');
    process.exit(1);
  }
  console.log('docs/configuration.md is current');
} else if (next !== current) {
  writeFileSync(path, next);
  console.log('docs/configuration.md updated');
} else {
  console.log('docs/configuration.md already current');
}
