#!/usr/bin/env node
// Compiles every workspace project's src/ to its own dist/ with swc (type checking is `npm run typecheck`); a project
// with a vite.config.ts (the web console, services/console) is bundled by Vite into static files instead.
// `node tools/build.mjs` builds every project under libs/ and services/; `node tools/build.mjs libs/config` builds
// that one project only (what each project's Nx `build` target runs, after building its dependencies).
// Workspace packages resolve each other at run time through node_modules links to their dist/,
// so built services run with plain `node` and no path-alias loader.
import { transformFile } from '@swc/core';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { emitDeclarations, restoreDeclarations, reusableDeclarations } from './sdk-declarations.mjs';
import { swcOptions } from './swc-options.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEST_FILE = /\.(spec|int-spec|e2e-spec)\.ts$/;

async function* sources(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !TEST_FILE.test(entry.name)) yield path;
  }
}

/** Relative imports of an ES module with their `.js` extension (browsers and Node's ESM loader need it; swc keeps `./x`). */
export function withJsExtensions(code) {
  return code.replace(/((?:import|export)\b[^'";]*?\bfrom\s*|import\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+?)(?<!\.js)\2/g, '$1$2$3.js$2');
}

/**
 * Compiles `<projectDir>/src` to `<projectDir>/dist` as CommonJS (test files left out); a project whose package.json
 * names a `module` (the SDK, published for browsers too) also gets ES modules in `dist/esm`. Resolves with the number
 * of source files.
 */
export async function buildProject(projectDir) {
  if (existsSync(join(projectDir, 'vite.config.ts'))) return bundleWithVite(projectDir);
  const src = join(projectDir, 'src');
  const out = join(projectDir, 'dist');
  const manifest = JSON.parse(await readFile(join(projectDir, 'package.json'), 'utf8').catch(() => '{}'));
  // A package published outside the workspace (its types in dist/) ships standalone declarations too.
  const declarations = typeof manifest.types === 'string' && manifest.types.replace(/^\.\//, '').startsWith('dist/');
  const kept = declarations ? await reusableDeclarations(projectDir) : undefined;
  await rm(out, { recursive: true, force: true });
  const formats = [{ dir: out, module: swcOptions.module }];
  if (manifest.module) formats.push({ dir: join(out, 'esm'), module: { type: 'es6' }, esm: true });
  let count = 0;
  for await (const file of sources(src)) {
    for (const format of formats) {
      const target = join(format.dir, relative(src, file)).replace(/\.ts$/, '.js');
      const { code, map } = await transformFile(file, { ...swcOptions, module: format.module, filename: file, sourceFileName: relative(dirname(target), file) });
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, `${format.esm ? withJsExtensions(code) : code}\n//# sourceMappingURL=${target.split('/').pop()}.map\n`);
      if (map) await writeFile(`${target}.map`, map);
    }
    count += 1;
  }
  if (manifest.module) await writeFile(join(out, 'esm', 'package.json'), '{ "type": "module" }\n');
  if (kept) await restoreDeclarations(projectDir, kept);
  else if (declarations) await emitDeclarations(projectDir, { withJsExtensions });
  return count;
}

/** Bundles a browser app (its vite.config.ts) into `<projectDir>/dist`; resolves with the number of files written. */
async function bundleWithVite(projectDir) {
  const { build } = await import('vite');
  const output = await build({ configFile: join(projectDir, 'vite.config.ts'), logLevel: 'warn' });
  return [output].flat().reduce((count, result) => count + ('output' in result ? result.output.length : 0), 0);
}

/** Builds every project under libs/ and services/; resolves with the number of projects and files. */
export async function buildAll() {
  const projects = [];
  for (const group of ['libs', 'services']) {
    for (const entry of await readdir(join(root, group), { withFileTypes: true })) {
      if (entry.isDirectory()) projects.push(join(root, group, entry.name));
    }
  }
  const counts = await Promise.all(projects.map((project) => buildProject(project)));
  return { projects: projects.length, files: counts.reduce((a, b) => a + b, 0) };
}

// Imported (by tools/bench.mjs) it only exports; run as a script it builds everything, or the projects named.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const named = process.argv.slice(2);
  if (named.length === 0) {
    const { projects, files } = await buildAll();
    console.log(`built ${projects} projects (${files} files) in ${Date.now() - started} ms`);
  } else {
    for (const project of named) {
      const dir = join(root, project);
      if (!existsSync(join(dir, 'src'))) {
        console.error(`build: ${project} has no src/ folder`);
        process.exit(2);
      }
      const files = await buildProject(dir);
      console.log(`built ${project} (${files} files) in ${Date.now() - started} ms`);
    }
  }
}
