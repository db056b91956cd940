import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { onOutputLines } from '@skreaver/testing';

/**
 * Which profiler `--profile` starts the services under (`BENCH_PROFILER`): V8's (`v8`, the default: `--cpu-prof`),
 * or Linux `perf` (`perf`: on-CPU samples of every thread, summarised into `on-cpu.txt`).
 *
 * They answer different questions. V8's profiler samples the main thread on a wall-clock timer whether or not it has
 * a core: on a machine where the processes under test outnumber the cores, a thread that was preempted (typically in
 * a socket write that woke the process it writes to) is charged to the function it was in for as long as it waited.
 * `perf record -e cpu-clock` samples only threads that are running, so its shares are of CPU actually spent.
 */
export const PROFILER = profilerKind(process.env['BENCH_PROFILER'] ?? 'v8');

function profilerKind(value: string): 'v8' | 'perf' {
  if (value !== 'v8' && value !== 'perf') throw new Error(`BENCH_PROFILER must be v8 or perf, not ${value}`);
  return value;
}

/** The node flag that makes V8 write `perfMapOf(pid)`, so perf can name JIT-compiled JavaScript functions. */
export const PERF_MAP_FLAG = '--perf-basic-prof-only-functions';

/** Where a process started with PERF_MAP_FLAG writes its map (perf reads it from there, by pid). */
export function perfMapOf(pid: number): string {
  return `/tmp/perf-${pid}.map`;
}

// 999 Hz: a sample per millisecond of CPU, and off the 1 kHz tick so it does not beat against timers.
const SAMPLE_HZ = '999';

/**
 * What share of a process's on-CPU samples had a frame of each kind on its stack. A sample can fall in several
 * (a socket write by the Redis client), so the shares do not add up to 100 %.
 */
const KINDS: readonly (readonly [label: string, frame: RegExp])[] = [
  ['garbage collection (any V8 GC phase, any thread)', /Scavenger|MarkCompact|ConcurrentMarking|Heap::CollectGarbage|Sweeper|MinorMarkSweep/],
  ['SQLite (better-sqlite3)', /better_sqlite3|sqlite3[A-Z_]/],
  ['Redis client (ioredis, redis-parser)', /\/node_modules\/(ioredis|redis-parser)\//],
  ['zod', /\/node_modules\/zod\//],
  ['socket writes (write/writev of any socket, kernel included)', /node::StreamBase::(WriteString|Writev|WriteBuffer)|node::LibuvStreamWrap::DoTryWrite/],
  ['JSON.parse / JSON.stringify', /JsonParser|JsonStringifier/],
  ['epoll (waiting for I/O, kernel)', /do_epoll_wait|epoll_pwait/],
];

/** One on-CPU sample of a process. */
export interface Sample {
  mainThread: boolean;
  /** Frames leaf first: `symbol (dso)`. */
  frames: string[];
}

/**
 * `perf record` of one process, from `start` until `finish`, which writes `<dir>/perf.data` and the summary
 * `<dir>/on-cpu.txt`. The process must have been started with PERF_MAP_FLAG.
 */
export class OnCpuRecorder {
  private readonly output: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly perf: ChildProcess,
    private readonly pid: number,
    private readonly dir: string,
    private readonly label: string,
  ) {
    onOutputLines(perf, (line) => this.output.push(line));
    this.exited = new Promise((resolve) => perf.once('exit', (code) => resolve(code)));
  }

  /** Starts sampling `pid` (all its threads) with call graphs. @throws Error when `perf` cannot be started. */
  static async start(pid: number, dir: string, label: string): Promise<OnCpuRecorder> {
    mkdirSync(dir, { recursive: true });
    const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-F', SAMPLE_HZ, '-g', '-p', String(pid), '-o', join(dir, 'perf.data')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const recorder = new OnCpuRecorder(perf, pid, dir, label);
    const failed = await Promise.race([
      new Promise<Error>((resolve) => perf.once('error', resolve)),
      recorder.exited.then((code) => new Error(`perf record exited (${code}): ${recorder.output.slice(-5).join(' ')}`)),
      // perf prints nothing when it starts; a bad pid or a refused perf_event_open ends it within milliseconds.
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 300)),
    ]);
    if (failed) throw new Error(`BENCH_PROFILER=perf: cannot record ${label} (is perf installed and perf_event_paranoid ≤ 1?): ${failed.message}`);
    return recorder;
  }

  /** Stops sampling and writes the summary (its owner removes the process's perf map: `perfMapOf`). */
  async finish(top = 25): Promise<void> {
    this.perf.kill('SIGINT');
    await this.exited;
    const samples = await readSamples(join(this.dir, 'perf.data'), this.pid);
    writeFileSync(join(this.dir, 'on-cpu.txt'), `${summarizeOnCpu(samples, this.label, top)}\n`);
  }
}

/** The samples of `pid` in a perf.data file, read through `perf script`. */
async function readSamples(file: string, pid: number): Promise<Sample[]> {
  const script = spawn('perf', ['script', '-i', file, '-F', 'pid,tid,ip,sym,dso'], { stdio: ['ignore', 'pipe', 'ignore'] });
  if (!script.stdout) throw new Error('perf script has no output stream');
  const exited = new Promise<void>((resolve) => script.once('exit', () => resolve()));
  const parser = new PerfScriptParser(pid);
  for await (const line of createInterface({ input: script.stdout })) parser.push(line);
  await exited;
  return parser.samples;
}

/** Reads `perf script -F pid,tid,ip,sym,dso` output line by line, keeping the samples of one process. */
export class PerfScriptParser {
  readonly samples: Sample[] = [];
  private current: Sample | undefined;

  constructor(private readonly pid: number) {}

  push(line: string): void {
    if (line.trim() === '') {
      this.current = undefined;
      return;
    }
    // "<pid>/<tid>" once per sample, then a line per frame, leaf first: "<address> <symbol> (<dso>)".
    const header = /^\s*(\d+)\/(\d+)\s*$/.exec(line);
    if (header) {
      this.current = Number(header[1]) === this.pid ? { mainThread: Number(header[2]) === this.pid, frames: [] } : undefined;
      if (this.current) this.samples.push(this.current);
      return;
    }
    this.current?.frames.push(line.trim().replace(/^[0-9a-f]+ /, '').replace(/\+0x[0-9a-f]+ \(/, ' ('));
  }
}

/** The summary of one process's on-CPU samples: shares by kind of work, top functions by self and total samples. */
export function summarizeOnCpu(samples: readonly Sample[], label: string, top: number): string {
  const total = samples.length;
  if (total === 0) return `${label}: no on-CPU samples`;
  const share = (count: number) => `${((count / total) * 100).toFixed(1).padStart(5)}%`;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const kinds = new Map<string, number>();
  let mainThread = 0;
  let kernel = 0;
  for (const { mainThread: onMain, frames } of samples) {
    if (onMain) mainThread += 1;
    const leaf = frames[0] ?? '(no frames)';
    if (leaf.endsWith('([kernel.kallsyms])')) kernel += 1;
    const leafName = nameOf(leaf);
    self.set(leafName, (self.get(leafName) ?? 0) + 1);
    const seen = new Set<string>();
    for (const frame of frames) {
      // perf names JIT-compiled functions `JS:<tier marker><name> <file>:<line>:<column>` from the process's map.
      if (!frame.startsWith('JS:')) continue;
      const name = nameOf(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + 1);
    }
    const stack = frames.join('\n');
    for (const [kind, pattern] of KINDS) if (pattern.test(stack)) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  const lines = [
    `${label}: ${total} on-CPU samples (${SAMPLE_HZ} Hz, every thread); main thread ${share(mainThread).trim()}, in the kernel ${share(kernel).trim()}`,
    'samples with a frame of each kind on the stack (a sample can count in several):',
    ...KINDS.map(([kind]) => `${share(kinds.get(kind) ?? 0)}  ${kind}`),
    `top functions by self samples:`,
    ...ranked(self, top).map(([name, count]) => `${share(count)}  ${name}`),
    `top JavaScript functions by total samples (self and callees; inlined functions count as their caller):`,
    ...ranked(inclusive, top).map(([name, count]) => `${share(count)}  ${name}`),
  ];
  return lines.join('\n');
}

/** A frame without its dso, and JavaScript paths relative to the repository. */
function nameOf(frame: string): string {
  return frame
    .replace(/ \([^()]*\)$/, '')
    .replace(/^JS:[*~^+-]?/, '')
    .replace(/^ /, '(anonymous) ')
    .replace(/ \/.*?\/(node_modules|libs|services)\//, ' $1/');
}

function ranked(counts: Map<string, number>, top: number): [string, number][] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
}
