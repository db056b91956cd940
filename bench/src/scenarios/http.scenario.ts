import autocannon from 'autocannon';

import { Platform } from '../support/platform';
import { cpuMsOf, syscallsOf } from '../support/process-memory';
import { RawChild } from '../support/raw-child';
import { versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU time (user + system) of the server process per request answered in the measured run, in ms. */
  cpuMsPerRequest: number;
  /** Read and write system calls of the server process per request answered (socket I/O, SQLite, log lines). */
  syscallsPerRequest: number;
}

/**
 * autocannon with 50 connections: a short warm-up (JIT, pools), then the measured run, during which the CPU time of
 * the server process `pid` is read: on a machine the load generator shares, req/s depends on what else runs, CPU
 * per request much less.
 */
async function load(context: ScenarioContext, pid: number, options: autocannon.Options): Promise<Load> {
  await autocannon({ ...options, connections: 50, duration: context.quick ? 1 : 2 });
  const [cpuBefore, syscallsBefore] = [cpuMsOf(pid), syscallsOf(pid)];
  const result = await autocannon({ ...options, connections: 50, duration: context.quick ? 3 : 10 });
  const [cpuMs, syscalls] = [cpuMsOf(pid) - cpuBefore, syscallsOf(pid) - syscallsBefore];
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuMsPerRequest: result.requests.total > 0 ? cpuMs / result.requests.total : Number.NaN,
    syscallsPerRequest: result.requests.total > 0 ? syscalls / result.requests.total : Number.NaN,
  };
}

function latencyMetrics(label: string, baseline: Load, ours: Load, context: ScenarioContext): void {
  context.record(versus(`${label} p50 latency`, 'ms', baseline.p50, ours.p50));
  context.record(versus(`${label} p99 latency`, 'ms', baseline.p99, ours.p99));
  context.record(versus(`${label} CPU per request (server process)`, 'ms', baseline.cpuMsPerRequest, ours.cpuMsPerRequest));
  context.record(versus(`${label} system calls per request (server process)`, 'calls', baseline.syscallsPerRequest, ours.syscallsPerRequest));
  if (ours.non2xx || ours.errors) context.note(`${label}: ${ours.non2xx} non-2xx answers and ${ours.errors} errors/timeouts during the run`);
}

/** Scenario 1: raw Nest+Fastify hello → authenticated `GET /agents/{id}` and `POST /agents/{id}/runs`. */
export const httpScenario: Scenario = {
  id: 'http',
  title: 'HTTP: raw NestJS+Fastify hello → authenticated agent-api routes (autocannon -c 50)',
  timeoutMs: (quick) => (quick ? 90_000 : 180_000),
  async run(context) {
    const raw = await RawChild.start('nest-hello');
    let hello: Load;
    try {
      hello = await load(context, raw.pid, { url: `http://127.0.0.1:${raw.port}/hello` });
    } finally {
      await raw.stop();
    }

    // Only agent-api runs: the coordinator would compete for the two cores without serving these requests.
    const platform = new Platform(context.profileDir ? { profileDir: `${context.profileDir}/http` } : {});
    try {
      await platform.start(['agent-api']);
      const agentId = await platform.echoAgent();
      const api = platform.service('agent-api').url;
      const pid = platform.service('agent-api').pid;
      const authorization = `Bearer ${platform.token}`;
      const get = await load(context, pid, { url: `${api}/agents/${agentId}`, headers: { authorization } });
      context.record(versus('GET /agents/{id} req/s (JWT)', 'req/s', hello.rps, get.rps, { atLeast: 0.35 }));
      latencyMetrics('GET /agents/{id}', hello, get, context);
      const post = await load(context, pid, {
        url: `${api}/agents/${agentId}/runs`,
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { message: 'hello' } }),
      });
      context.record(versus('POST /agents/{id}/runs req/s (202)', 'req/s', hello.rps, post.rps, { atLeast: 0.15 }));
      latencyMetrics('POST /agents/{id}/runs', hello, post, context);
      context.note('agent-api alone (no coordinator: queued runs wait in Redis), JWT bearer token, rate limits on but set to 10M');
    } finally {
      await platform.stop();
    }
  },
};
