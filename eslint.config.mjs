import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import nx from '@nx/eslint-plugin';

// @nx/enforce-module-boundaries reads the cached project graph and, without one, checks nothing at all; with one
// older than a project.json it checks against stale tags. Refuse to lint then (`npm run lint` and `npm test` run
// `nx show projects` first, which writes it).
function requireFreshProjectGraph() {
  const root = dirname(fileURLToPath(import.meta.url));
  const graph = join(root, '.nx', 'workspace-data', 'project-graph.json');
  const projects = ['libs', 'services']
    .flatMap((dir) => readdirSync(join(root, dir)).map((name) => join(root, dir, name, 'project.json')))
    .concat(join(root, 'e2e', 'project.json'))
    .filter((file) => existsSync(file));
  const builtAt = existsSync(graph) ? statSync(graph).mtimeMs : -Infinity;
  const newer = projects.filter((file) => statSync(file).mtimeMs > builtAt);
  if (newer.length > 0) {
    throw new Error(`no Nx project graph, or one older than ${newer.length} project.json file(s): run \`npx nx show projects\` before eslint (npm run lint does)`);
  }
}
requireFreshProjectGraph();

// Module boundaries (STYLE.md §15): apps over domain (runs, agent-runtime, auth, profiling) over data access
// (persistence, messaging); contracts import nothing but zod; util only util; no service imports another.
// The SDK (libs/sdk, published as @skreaver/sdk, runs in browsers) imports only contracts' types: no server library.
// Data access never imports the domain: what the domain needs from it is a port the domain declares and the app binds.
const depConstraints = [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:contracts', 'type:util', 'type:sdk'] },
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:contracts', 'type:util'] },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:contracts', 'type:util'] },
  {
    sourceTag: 'type:contracts',
    onlyDependOnLibsWithTags: ['type:contracts'],
    bannedExternalImports: ['@nestjs/*', 'ioredis', 'redis', 'bullmq', 'socket.io*', 'typeorm', 'pg', 'better-sqlite3', 'fastify'],
  },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util', 'type:contracts'] },
  {
    sourceTag: 'type:sdk',
    onlyDependOnLibsWithTags: ['type:contracts'],
    bannedExternalImports: ['@nestjs/*', 'ioredis', 'redis', 'bullmq', 'socket.io', 'typeorm', 'pg', 'better-sqlite3', 'fastify', 'zod', 'ws'],
  },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:data-access', 'type:util', 'type:sdk'] },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:contracts', 'type:testing', 'type:util', 'type:sdk'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:agent-api', onlyDependOnLibsWithTags: ['scope:agent-api', 'scope:shared'] },
  { sourceTag: 'scope:ws-gateway', onlyDependOnLibsWithTags: ['scope:ws-gateway', 'scope:shared'] },
  { sourceTag: 'scope:mesh-coordinator', onlyDependOnLibsWithTags: ['scope:mesh-coordinator', 'scope:shared'] },
  { sourceTag: 'scope:console', onlyDependOnLibsWithTags: ['scope:console', 'scope:shared'] },
];


export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '.skreaver/**', '.nx/**', 'coverage/**', 'bench/results/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        { enforceBuildableLibDependency: false, allow: [], depConstraints },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['@skreaver/*/src/*', '@skreaver/*/dist/*'], message: 'import a library through its index' }] }],
    },
  },
  {
    // The SDK's browser entry: no Node built-ins, and contracts' types only (a value import would bundle zod).
    files: ['libs/sdk/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@skreaver/contracts', allowTypeImports: true, message: 'the SDK imports only types from contracts (zod stays out of the browser bundle)' },
            ...['fs', 'path', 'http', 'https', 'net', 'crypto', 'os', 'stream', 'url', 'buffer', 'events', 'child_process'].map((name) => ({ name, message: 'the SDK runs in browsers: no Node built-ins' })),
          ],
          patterns: [
            { group: ['@skreaver/*/src/*', '@skreaver/*/dist/*'], message: 'import a library through its index' },
            { group: ['node:*'], message: 'the SDK runs in browsers: no Node built-ins' },
          ],
        },
      ],
    },
  },
  {
    // The web console runs in browsers and talks to the API only through the SDK: contracts' types only (a value
    // import would bundle zod), no server library.
    files: ['services/console/src/**/*.ts', 'services/console/src/**/*.tsx'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@skreaver/contracts', allowTypeImports: true, message: 'the console imports only types from contracts (zod stays out of the bundle)' }],
          patterns: [
            { group: ['@skreaver/*/src/*', '@skreaver/*/dist/*'], message: 'import a library through its index' },
            { group: ['node:*'], message: 'the console runs in browsers: no Node built-ins' },
          ],
        },
      ],
    },
  },
  {
    // Tests may use the testing library whatever the tier of the code they test.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'libs/*/test/**/*.ts', 'services/*/test/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: ['@skreaver/testing'],
          depConstraints: depConstraints.map((c) =>
            c.sourceTag.startsWith('type:') && c.sourceTag !== 'type:contracts'
              ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'] }
              : c,
          ),
        },
      ],
    },
  },
  {
    // The ops tests (Nx project `ops`) check the repository as a whole: they read services' config schemas and other
    // projects' test fixtures by path, which is what they are for.
    files: ['tools/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', require: 'readonly', module: 'writable', __dirname: 'readonly' } },
  },
];
