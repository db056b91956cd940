import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
});
