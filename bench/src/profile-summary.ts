// Summarises V8 .cpuprofile files (from `npm run bench -- --profile`, or any `node --cpu-prof`) by self time:
// the top functions and the top packages. Usage: node bench/dist/profile-summary.js <file-or-dir> [--top 25]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where code comes from: a package under node_modules, a Skreaver project, node itself, or V8 (GC, idle…). */
export function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(v8/native)';
  if (url.startsWith('node:')) return 'node:core';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
    // Workspace links resolve to libs/<name>; keep them apart from third-party packages.
    return name?.startsWith('@skreaver/') ? `skreaver:${name.slice('@skreaver/'.length)}` : (name ?? url);
  }
  const project = /\/(libs|services)\/([^/]+)\//.exec(url);
  if (project?.[2]) return `skreaver:${project[2]}`;
  return url;
}

function profileFiles(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? profileFiles(join(path, entry.name)) : entry.name.endsWith('.cpuprofile') ? [join(path, entry.name)] : [],
  );
}

function top(map: Map<string, number>, total: number, count: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([key, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}

/** Self time per function and per package of one profile, as text. */
export function summarize(file: string, count: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|libs|services)\//, '$1/')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = packageOf(frame.url, frame.functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busy = total - idle;
  return [
    `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (${((busy / total) * 100).toFixed(0)}%); shares are of busy time`,
    'top functions by self time:',
    ...top(byFunction, busy, count),
    'top packages by self time:',
    ...top(byPackage, busy, Math.min(count, 15)),
  ].join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const topIndex = args.indexOf('--top');
  const count = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
  // Without --top (index -1) no argument is its value: `topIndex + 1` would drop the first path.
  const paths = topIndex >= 0 ? args.filter((_, i) => i !== topIndex && i !== topIndex + 1) : args;
  if (paths.length === 0) {
    process.stderr.write('usage: node bench/dist/profile-summary.js <file.cpuprofile | dir> [--top 25]\n');
    process.exit(2);
  }
  for (const file of paths.flatMap(profileFiles)) process.stdout.write(`${summarize(file, count)}\n\n`);
}
