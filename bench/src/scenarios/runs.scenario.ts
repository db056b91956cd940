import { randomBytes } from 'node:crypto';

import { Queues, queueName } from '@skreaver/contracts';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';

import { Completions } from '../support/completions';
import { connectLive, subscribe } from '../support/live-client';
import { Platform, REDIS_URL, deleteRedisPrefix } from '../support/platform';
import { RunPathTrace } from '../support/run-path';
import { cpuMsOf, syscallsOf } from '../support/process-memory';
import { ceiling, versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';
import { summarize, wallMs } from '../support/stats';
import { atFixedRate, closedLoop, sleep } from '../support/time';

const SERVICES = ['agent-api', 'mesh-coordinator', 'ws-gateway'] as const;

/** CPU ms (user + system) of this process so far. */
function processCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** How long each process's idle CPU is sampled before the closed loop. */
const IDLE_SAMPLE_MS = 2_000;

/** Runs (or jobs) in flight in the closed loop that finds the maximum rate. */
const IN_FLIGHT = 64;
/** The fixed rate end-to-end latency is measured at. */
const RATE = 200;
/** Jobs one worker (the raw loop's, and a coordinator's RUN_WORKER_CONCURRENCY default) runs at once. */
const WORKER_CONCURRENCY = 16;

interface Measured {
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU ms per completed run in the closed loop, by process (services, or the bench process for the raw loop). */
  cpuPerRun: Record<string, number>;
  /** Read + write system calls per completed run in the closed loop, by service (not measured for the raw loop). */
  syscallsPerRun: Record<string, number>;
}

/** A counter of each process so far (CPU ms, system calls), by name. */
type Reading = () => Record<string, number>;

/**
 * Drives `start` (which begins one run and returns its id and start time) in a closed loop for the maximum rate, then
 * at RATE per second for the latency, with `completions` fed by whoever observes the end of a run.
 */
async function measure(
  context: ScenarioContext,
  completions: Completions,
  start: () => Promise<{ id: string; at: number }>,
  cpu: Reading,
  syscalls: Reading,
  /** Called just before the fixed-rate phase (the path trace starts there). */
  beforeFixedRate?: () => void,
): Promise<Measured> {
  const once = async () => {
    const { id, at } = await start();
    await completions.wait(id, at);
  };
  await closedLoop(IN_FLIGHT, context.quick ? 1_000 : 2_000, once);
  completions.reset();
  // What each process burns doing nothing (timers, heartbeats, blocking reads), subtracted below: on a loaded machine
  // the loop completes few runs, and that floor divided by them would read as CPU per run.
  await sleep(500);
  const read = () => ({ cpu: cpu(), syscalls: syscalls(), at: performance.now() });
  const idleFrom = read();
  await sleep(IDLE_SAMPLE_MS);
  const before = read();
  const loop = await closedLoop(IN_FLIGHT, context.quick ? 3_000 : 10_000, once);
  const after = read();
  const perRun = (of: 'cpu' | 'syscalls') =>
    Object.fromEntries(
      Object.entries(after[of]).map(([name, count]) => {
        const idle = (((before[of][name] ?? 0) - (idleFrom[of][name] ?? 0)) / (before.at - idleFrom.at)) * (after.at - before.at);
        return [name, loop.done > 0 ? Math.max(0, count - (before[of][name] ?? 0) - idle) / loop.done : Number.NaN];
      }),
    );
  if (loop.errors) context.note(`closed loop: ${loop.errors} errors (${loop.firstError})`);
  await sleep(500);
  completions.reset();
  beforeFixedRate?.();
  const pending: Promise<void>[] = [];
  await atFixedRate(RATE, context.quick ? 3_000 : 10_000, () => {
    pending.push(
      start()
        .then(({ id, at }) => completions.wait(id, at))
        .catch(() => undefined),
    );
  });
  await Promise.all(pending);
  const latency = summarize(completions.latencies);
  if (completions.timeouts) context.note(`${completions.timeouts} runs did not complete within 15 s at ${RATE}/s (counted as 15 000 ms in the percentiles)`);
  return { perSecond: loop.perSecond, p50: latency.p50, p99: latency.p99, cpuPerRun: perRun('cpu'), syscallsPerRun: perRun('syscalls') };
}

async function rawBullmq(context: ScenarioContext): Promise<Measured> {
  const prefix = `{bench-raw-${randomBytes(4).toString('hex')}}`;
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-echo', { connection, prefix });
  const completions = new Completions();
  const worker = new Worker('raw-echo', async (job) => job.data as unknown, { connection: workerConnection, prefix, concurrency: WORKER_CONCURRENCY });
  worker.on('completed', (job) => completions.complete(job.id ?? ''));
  try {
    await worker.waitUntilReady();
    return await measure(context, completions, async () => {
      const at = performance.now();
      const job = await queue.add('echo', { input: { message: 'hello' } }, { removeOnComplete: true, removeOnFail: true });
      return { id: job.id ?? '', at };
    }, () => ({ 'bench process (queue + worker)': processCpuMs() }), () => ({}));
  } finally {
    await worker.close();
    await queue.close();
    connection.disconnect();
    workerConnection.disconnect();
    await deleteRedisPrefix(prefix.slice(1, -1));
  }
}

async function ours(context: ScenarioContext): Promise<Measured> {
  const platform = new Platform(context.profileDir ? { profileDir: `${context.profileDir}/runs` } : {});
  try {
    await platform.start([...SERVICES]);
    const agentId = await platform.echoAgent();
    const completions = new Completions();
    const trace = new RunPathTrace();
    const socket = await connectLive(platform.service('ws-gateway').url, platform.token, (event) => {
      trace.event(event);
      if (event.type === 'run.completed') completions.complete(event.run_id);
    });
    await subscribe(socket, { agent_id: agentId });
    const url = `${platform.service('agent-api').url}/agents/${agentId}/runs`;
    const headers = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ input: { message: 'hello' } });
    const redis = new Redis(REDIS_URL);
    try {
      const measured = await measure(
        context,
        completions,
        async () => {
          const at = performance.now();
          const sent = wallMs();
          const response = await fetch(url, { method: 'POST', headers, body });
          const run = (await response.json()) as { id?: string };
          if (response.status !== 202 || !run.id) throw new Error(`POST runs answered ${response.status}`);
          trace.answered(run.id, sent);
          return { id: run.id, at };
        },
        () => Object.fromEntries(SERVICES.map((name) => [name, cpuMsOf(platform.service(name).pid)])),
        () => Object.fromEntries(SERVICES.map((name) => [name, syscallsOf(platform.service(name).pid)])),
        () => trace.reset(),
      );
      await trace.readPicked(redis, (runId) => `{${platform.prefix}}:${queueName(Queues.runs)}:${runId}`);
      for (const line of trace.summary()) context.note(line);
      return measured;
    } finally {
      socket.close();
      redis.disconnect();
    }
  } finally {
    await platform.stop();
  }
}

/** Scenario 2: raw BullMQ add → process loop → echo runs through agent-api, queue, coordinator, event log, gateway. */
export const runsScenario: Scenario = {
  id: 'runs',
  title: 'Runs: raw BullMQ add→process loop → echo runs POST→run.completed on a socket (one coordinator)',
  timeoutMs: (quick) => (quick ? 120_000 : 240_000),
  async run(context) {
    const raw = await rawBullmq(context);
    const mine = await ours(context);
    context.record(versus(`runs/s, closed loop of ${IN_FLIGHT}`, 'runs/s', raw.perSecond, mine.perSecond, { atLeast: 0.15 }));
    context.record(versus(`p50 at ${RATE} runs/s`, 'ms', raw.p50, mine.p50));
    context.record(ceiling(`p99 at ${RATE} runs/s (POST → run.completed)`, 'ms', mine.p99, 20, raw.p99));
    // Where a run's CPU goes (closed loop, idle CPU subtracted; the raw figure is its whole bench process, queue and
    // worker, without Redis).
    const rawCpu = Object.values(raw.cpuPerRun).reduce((sum, ms) => sum + ms, 0);
    for (const [name, ms] of Object.entries(mine.cpuPerRun)) context.record(versus(`CPU per run: ${name}`, 'ms', null, ms));
    const total = Object.values(mine.cpuPerRun).reduce((sum, ms) => sum + ms, 0);
    context.record(versus('CPU per run: all three services', 'ms', rawCpu, total));
    for (const [name, count] of Object.entries(mine.syscallsPerRun)) context.record(versus(`system calls per run: ${name}`, 'calls', null, count));
    context.note(`raw: Queue.add → Worker (concurrency ${WORKER_CONCURRENCY}) → 'completed' in the bench process; ours: echo agent (delay_ms 0, parallel, max_concurrency 1000), one coordinator (RUN_WORKER_CONCURRENCY ${WORKER_CONCURRENCY}), latency measured POST sent → run.completed received on a socket.io client subscribed to the agent`);
    context.note(`CPU per run: user + system time of each process (/proc) over the closed loop, minus its idle rate sampled for ${IDLE_SAMPLE_MS / 1000} s just before, divided by the runs completed; system calls per run likewise from /proc/<pid>/io (syscr + syscw: socket reads and writes, so round trips and how well they are batched, steadier than CPU times on a shared machine)`);
  },
};
