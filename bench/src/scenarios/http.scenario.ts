import autocannon from 'autocannon';

import { Platform } from '../support/platform';
import { cpuSplitOf, syscallsOf } from '../support/process-memory';
import { RawChild } from '../support/raw-child';
import { versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Requests answered in the measured run. */
  requests: number;
  /** CPU time (user + system) of the server process during the run, in ms. */
  cpuMs: number;
  /** The part of `cpuMs` spent in the kernel (system calls, the loopback's TCP work). */
  systemMs: number;
  /** Read and write system calls of the server process during the run (socket I/O, SQLite, log lines). */
  syscalls: number;
}

/** Measured rounds: hello, GET and POST each once per round, back to back. */
const ROUNDS = 3;

/** autocannon with 50 connections against `options.url`, for `seconds`. */
function cannon(options: autocannon.Options, seconds: number): Promise<autocannon.Result> {
  return autocannon({ ...options, connections: 50, duration: seconds });
}

/**
 * One measured run, during which the CPU time and system calls of the server process `pid` are read: on a machine
 * the load generator shares, req/s depends on what else runs, CPU per request much less.
 */
async function load(pid: number, options: autocannon.Options, seconds: number): Promise<Load> {
  const [cpuBefore, syscallsBefore] = [cpuSplitOf(pid), syscallsOf(pid)];
  const result = await cannon(options, seconds);
  const cpuAfter = cpuSplitOf(pid);
  const systemMs = cpuAfter.systemMs - cpuBefore.systemMs;
  const cpuMs = cpuAfter.userMs - cpuBefore.userMs + systemMs;
  const syscalls = syscallsOf(pid) - syscallsBefore;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    requests: result.requests.total,
    cpuMs,
    systemMs,
    syscalls,
  };
}

interface Target {
  pid: number;
  options: autocannon.Options;
}

/**
 * Each target warmed up (JIT, pools), then ROUNDS rounds in which every target is loaded in turn. This machine's speed
 * drifts by tens of percent within a minute (other tenants), so a ratio taken from one long run of each side says as
 * much about when each ran as about the code; within a round both sides meet the same machine.
 */
async function rounds(context: ScenarioContext, targets: readonly Target[]): Promise<Load[][]> {
  for (const target of targets) await cannon(target.options, context.quick ? 1 : 2);
  const measured: Load[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [i, target] of targets.entries()) measured[i]?.push(await load(target.pid, target.options, context.quick ? 1 : 4));
  }
  return measured;
}

/**
 * The round whose req/s ratio (ours / baseline) is the median, for the req/s and latency rows; CPU and system calls per
 * request over all rounds. Every round's ratio goes into the notes.
 */
function compare(context: ScenarioContext, label: string, rpsName: string, baseline: Load[], ours: Load[], atLeast: number): void {
  const pairs = baseline.map((b, i) => ({ b, o: ours[i] ?? b, ratio: (ours[i]?.rps ?? 0) / b.rps }));
  const middle = [...pairs].sort((x, y) => x.ratio - y.ratio)[Math.floor(pairs.length / 2)];
  if (!middle) return;
  const perRequest = (loads: Load[], of: 'cpuMs' | 'systemMs' | 'syscalls') => {
    const requests = loads.reduce((sum, load) => sum + load.requests, 0);
    return requests > 0 ? loads.reduce((sum, load) => sum + load[of], 0) / requests : Number.NaN;
  };
  context.record(versus(rpsName, 'req/s', middle.b.rps, middle.o.rps, { atLeast }));
  context.record(versus(`${label} p50 latency`, 'ms', middle.b.p50, middle.o.p50));
  context.record(versus(`${label} p99 latency`, 'ms', middle.b.p99, middle.o.p99));
  context.record(versus(`${label} CPU per request (server process)`, 'ms', perRequest(baseline, 'cpuMs'), perRequest(ours, 'cpuMs')));
  // How a machine's kernel costs weigh on each side: a baseline spending most of its CPU in system calls gains more
  // than we do from a machine where they are cheap, and the req/s ratio moves with the machine, not the code.
  context.record(versus(`${label} CPU per request in the kernel (server process)`, 'ms', perRequest(baseline, 'systemMs'), perRequest(ours, 'systemMs')));
  context.record(versus(`${label} system calls per request (server process)`, 'calls', perRequest(baseline, 'syscalls'), perRequest(ours, 'syscalls')));
  context.note(`${label}: req/s ratio per round ${pairs.map(({ b, o, ratio }) => `${ratio.toFixed(2)} (${Math.round(o.rps)} / ${Math.round(b.rps)})`).join(', ')}; the median round is reported`);
  const non2xx = ours.reduce((sum, load) => sum + load.non2xx, 0);
  const errors = ours.reduce((sum, load) => sum + load.errors, 0);
  if (non2xx || errors) context.note(`${label}: ${non2xx} non-2xx answers and ${errors} errors/timeouts during the runs`);
}

/** Scenario 1: raw Nest+Fastify hello → authenticated `GET /agents/{id}` and `POST /agents/{id}/runs`. */
export const httpScenario: Scenario = {
  id: 'http',
  title: 'HTTP: raw NestJS+Fastify hello → authenticated agent-api routes (autocannon -c 50, alternating rounds)',
  timeoutMs: (quick) => (quick ? 90_000 : 180_000),
  async run(context) {
    const raw = await RawChild.start('nest-hello');
    // Only agent-api runs: the coordinator would compete for the two cores without serving these requests.
    const platform = new Platform(context.profileDir ? { profileDir: `${context.profileDir}/http` } : {});
    try {
      await platform.start(['agent-api']);
      const agentId = await platform.echoAgent();
      const api = platform.service('agent-api').url;
      const pid = platform.service('agent-api').pid;
      const authorization = `Bearer ${platform.token}`;
      const [hello = [], get = [], post = []] = await rounds(context, [
        { pid: raw.pid, options: { url: `http://127.0.0.1:${raw.port}/hello` } },
        { pid, options: { url: `${api}/agents/${agentId}`, headers: { authorization } } },
        {
          pid,
          options: {
            url: `${api}/agents/${agentId}/runs`,
            method: 'POST',
            headers: { authorization, 'content-type': 'application/json' },
            body: JSON.stringify({ input: { message: 'hello' } }),
          },
        },
      ]);
      compare(context, 'GET /agents/{id}', 'GET /agents/{id} req/s (JWT)', hello, get, 0.35);
      compare(context, 'POST /agents/{id}/runs', 'POST /agents/{id}/runs req/s (202)', hello, post, 0.15);
      context.note(
        `hello, GET and POST loaded in turn, ${ROUNDS} rounds after a warm-up; agent-api alone (no coordinator: queued runs wait in Redis), JWT bearer token, rate limits on but set to 10M`,
      );
    } finally {
      await platform.stop();
      await raw.stop();
    }
  },
};
