import { PerfScriptParser, summarizeOnCpu } from './on-cpu-profile';

// The shape `perf script -F pid,tid,ip,sym,dso` prints: a header per sample (leading spaces), tab-indented frames
// leaf first, a blank line after each sample. Two samples of pid 4242 (one on its main thread, one on a GC helper
// thread) and one of another process.
const OUTPUT = [
  '   4242/4242    ',
  '\t    7f3f3c197094 JS:*publishEntry /work/main/services/ws-gateway/dist/live/live-events.service.js:48:17 (/tmp/perf-4242.map)',
  '\t    7f3f3c1e8996 JS:*run /work/main/libs/messaging/dist/stream-tailer.js:58:14 (/tmp/perf-4242.map)',
  '\t         14f7cb4 Builtins_RunMicrotasks (/usr/bin/node)',
  '',
  '   4242/4250    ',
  '\t          bd7667 v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot> (/usr/bin/node)',
  '\t          c4993d v8::internal::ScavengerCollector::JobTask::Run (/usr/bin/node)',
  '',
  '    9/9    ',
  '\tffffffff82242055 pvm_safe_halt_hc ([kernel.kallsyms])',
  '',
];

describe('PerfScriptParser', () => {
  it('should keep the samples of its process only, frames leaf first, and tell the main thread apart', () => {
    const parser = new PerfScriptParser(4242);
    for (const line of OUTPUT) parser.push(line);

    expect(parser.samples).toEqual([
      {
        mainThread: true,
        frames: [
          'JS:*publishEntry /work/main/services/ws-gateway/dist/live/live-events.service.js:48:17 (/tmp/perf-4242.map)',
          'JS:*run /work/main/libs/messaging/dist/stream-tailer.js:58:14 (/tmp/perf-4242.map)',
          'Builtins_RunMicrotasks (/usr/bin/node)',
        ],
      },
      {
        mainThread: false,
        frames: [
          'v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot> (/usr/bin/node)',
          'v8::internal::ScavengerCollector::JobTask::Run (/usr/bin/node)',
        ],
      },
    ]);
  });
});

describe('summarizeOnCpu', () => {
  it('should give each kind of work, each self function and each JavaScript function its share of the samples', () => {
    const parser = new PerfScriptParser(4242);
    for (const line of OUTPUT) parser.push(line);

    const summary = summarizeOnCpu(parser.samples, 'ws-gateway (pid 4242)', 5).split('\n');

    expect(summary[0]).toBe('ws-gateway (pid 4242): 2 on-CPU samples (999 Hz, every thread); main thread 50.0%, in the kernel 0.0%');
    expect(summary).toContain(' 50.0%  garbage collection (any V8 GC phase, any thread)');
    expect(summary).toContain('  0.0%  SQLite (better-sqlite3)');
    // Self: the leaf frame, its JavaScript path made relative to the repository.
    expect(summary).toContain(' 50.0%  publishEntry services/ws-gateway/dist/live/live-events.service.js:48:17');
    // Total: every JavaScript frame on the stack, once per sample.
    expect(summary).toContain(' 50.0%  run libs/messaging/dist/stream-tailer.js:58:14');
  });

  it('should say when a process was never sampled', () => {
    expect(summarizeOnCpu([], 'agent-api (pid 1)', 5)).toBe('agent-api (pid 1): no on-CPU samples');
  });
});
