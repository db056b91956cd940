import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { transformSync } from '@swc/core';

// The sink as a real process runs it: compiled to CommonJS into a temporary folder, driven by a child node process
// whose stdout is a pipe (as a container's is), read whole after it ended.
const SOURCE = join(__dirname, '..', 'src', 'logging', 'turn-buffered-sink.ts');
const LINES = 2_000;

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'turn-buffered-sink-'));
  const { code } = transformSync(readFileSync(SOURCE, 'utf8'), {
    filename: SOURCE,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  writeFileSync(join(dir, 'sink.js'), code);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `ending` after the child logged LINES lines in one turn; returns what reached its stdout and its exit code. */
function logThen(ending: string): { lines: string[]; status: number | null } {
  const script = `
    const { stdoutSink } = require(${JSON.stringify(join(dir, 'sink.js'))});
    const sink = stdoutSink();
    for (let i = 0; i < ${LINES}; i += 1) sink(JSON.stringify({ n: i }) + '\\n');
    ${ending}
  `;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return { lines: child.stdout.split('\n').filter(Boolean), status: child.status };
}

const expected = Array.from({ length: LINES }, (_, n) => JSON.stringify({ n }));

describe('turnBufferedSink in a real process', () => {
  it('delivers every line, in order, when the process ends on its own', () => {
    expect(logThen('')).toEqual({ lines: expected, status: 0 });
  });

  it('delivers every line written before process.exit in the same turn', () => {
    expect(logThen('process.exit(3);')).toEqual({ lines: expected, status: 3 });
  });

  it('delivers every line written before an uncaught exception', () => {
    expect(logThen("throw new Error('boom');")).toEqual({ lines: expected, status: 1 });
  });

  it('delivers lines that exit handlers registered later write', () => {
    const { lines } = logThen("process.on('exit', () => sink('from exit\\n')); process.exit(0);");
    expect(lines).toEqual([...expected, 'from exit']);
  });

  it('leaves no half line in the pipe when SIGKILLed with lines still to write', async () => {
    // stdout is a FIFO, as a container's is. The child logs far more than the pipe holds; once the pipe is full it
    // holds the rest (or blocks in write()), and the test kills it then.
    const fifo = join(dir, 'stdout.fifo');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writer = openSync(fifo, constants.O_WRONLY);
    const script = `
      const { stdoutSink } = require(${JSON.stringify(join(dir, 'sink.js'))});
      const sink = stdoutSink();
      for (let i = 0; i < 20000; i += 1) sink(JSON.stringify({ n: i, pad: 'x'.repeat(i % 300) }) + '\\n');
      setImmediate(() => process.stderr.write('logged\\n'));
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', writer, 'pipe'] });
    closeSync(writer);
    let logged = false;
    child.stderr?.on('data', () => (logged = true));
    const deadline = Date.now() + 10_000;
    while (!logged && readFileSync(`/proc/${child.pid}/wchan`, 'utf8') !== 'pipe_write') {
      if (Date.now() > deadline) throw new Error('the child never filled its stdout');
      await sleep(10);
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    const chunks: Buffer[] = [];
    const buffer = Buffer.alloc(64 * 1024);
    for (let n = readSync(reader, buffer); n > 0; n = readSync(reader, buffer)) chunks.push(Buffer.from(buffer.subarray(0, n)));
    closeSync(reader);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const numbers = text.split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { n: number }).n);
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers.length).toBeLessThan(20000);
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, n) => n));
  });
});
