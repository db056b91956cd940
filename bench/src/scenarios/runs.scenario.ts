import { randomBytes } from 'node:crypto';

import { Queues, queueName, streamQueueKeys } from '@skreaver/contracts';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';

import { Completions } from '../support/completions';
import { connectLive, subscribe } from '../support/live-client';
import { HttpPoster } from '../support/http-poster';
import { machineTicks, redisServerCounters } from '../support/machine-counters';
import { Platform, REDIS_URL, RUN_QUEUE, deleteRedisPrefix } from '../support/platform';
import { RunPathTrace } from '../support/run-path';
import { cpuMsOf, syscallsOf, wakeupsOf } from '../support/process-memory';
import { ceiling, versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';
import { summarize, wallMs } from '../support/stats';
import { atFixedRate, closedLoop, sleep } from '../support/time';
import { wakeCostUs } from '../support/wake-cost';

const SERVICES = ['agent-api', 'mesh-coordinator', 'ws-gateway'] as const;
const REDIS = 'Redis server';
/** The raw loop's one process: the queue and the worker. */
const RAW_PROCESS = 'bench process (queue + worker)';
/** The bench process in our runs: the HTTP client sending runs and the socket.io client receiving their events. */
const LOAD_GENERATOR = 'bench process (HTTP client + socket)';

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
  /** Each counter's growth per completed run over the closed loop, its idle growth subtracted. */
  closed: Counters;
  /** The same over the fixed-rate phase, from the first run sent to the last one completed. */
  fixed: Counters;
  /** The share of all cores' time the machine was busy during the fixed-rate phase (/proc/stat), 0–1. */
  busyAtRate: number;
}

/** Counters that only grow (CPU ms, system calls, Redis commands), by name, read at one moment. */
type Counters = Record<string, number>;

interface Sample {
  counters: Counters;
  machine: { busy: number; total: number };
  at: number;
}

/** What each counter grew by from `from` to `to`, less its growth at rest (`idle`) over as long, per run. */
function perRun(from: Sample, to: Sample, idle: { from: Sample; to: Sample }, runs: number): Counters {
  const idleMs = idle.to.at - idle.from.at;
  return Object.fromEntries(
    Object.entries(to.counters).map(([name, count]) => {
      const atRest = (((idle.to.counters[name] ?? 0) - (idle.from.counters[name] ?? 0)) / idleMs) * (to.at - from.at);
      return [name, runs > 0 ? Math.max(0, count - (from.counters[name] ?? 0) - atRest) / runs : Number.NaN];
    }),
  );
}

/** One side of the comparison, set up: how to start one run (or job), who sees it end, and the counters it moves. */
interface Side {
  /** Fed by whoever observes the end of a run. */
  completions: Completions;
  /** Begins one run; returns its id and start time. */
  start: () => Promise<{ id: string; at: number }>;
  /** The counters of every process that takes part, so each phase's cost per run can be told apart. */
  read: () => Promise<Counters>;
  /** Called just before the fixed-rate phase (the path trace starts there). */
  beforeFixedRate?: () => void;
  close: () => Promise<void>;
}

/** One run started and awaited to its end. */
async function once(side: Side): Promise<void> {
  const { id, at } = await side.start();
  await side.completions.wait(id, at);
}

/**
 * Drives the side in a closed loop for the maximum rate, then at RATE per second for the latency.
 */
async function measure(context: ScenarioContext, side: Side): Promise<Measured> {
  const { completions } = side;
  const sample = async (): Promise<Sample> => ({ counters: await side.read(), machine: machineTicks(), at: performance.now() });
  await closedLoop(IN_FLIGHT, context.quick ? 1_000 : 2_000, () => once(side));
  completions.reset();
  // What each process burns doing nothing (timers, heartbeats, blocking reads), subtracted below: on a loaded machine
  // the loop completes few runs, and that floor divided by them would read as CPU per run.
  await sleep(500);
  const idle = { from: await sample(), to: await sleep(IDLE_SAMPLE_MS).then(sample) };
  const before = idle.to;
  const loop = await closedLoop(IN_FLIGHT, context.quick ? 3_000 : 10_000, () => once(side));
  const after = await sample();
  if (loop.errors) context.note(`closed loop: ${loop.errors} errors (${loop.firstError})`);
  await sleep(500);
  completions.reset();
  side.beforeFixedRate?.();
  const pending: Promise<void>[] = [];
  const fixedFrom = await sample();
  await atFixedRate(RATE, context.quick ? 3_000 : 10_000, () => {
    pending.push(
      side
        .start()
        .then(({ id, at }) => completions.wait(id, at))
        .catch(() => undefined),
    );
  });
  await Promise.all(pending);
  const fixedTo = await sample();
  const latency = summarize(completions.latencies);
  if (completions.timeouts) context.note(`${completions.timeouts} runs did not complete within 15 s at ${RATE}/s (counted as 15 000 ms in the percentiles)`);
  return {
    perSecond: loop.perSecond,
    p50: latency.p50,
    p99: latency.p99,
    closed: perRun(before, after, idle, loop.done),
    fixed: perRun(fixedFrom, fixedTo, idle, pending.length),
    busyAtRate: (fixedTo.machine.busy - fixedFrom.machine.busy) / (fixedTo.machine.total - fixedFrom.machine.total),
  };
}

/** One more closed loop of an already warmed-up side: its runs per second. */
async function throughput(context: ScenarioContext, side: Side): Promise<number> {
  const loop = await closedLoop(IN_FLIGHT, context.quick ? 2_000 : 5_000, () => once(side));
  await sleep(500);
  side.completions.reset();
  return loop.perSecond;
}

/** The Redis server's CPU ms and command count, under the names the scenario reports them by. */
async function redisCounters(redis: Redis): Promise<Counters> {
  const { cpuMs, commands } = await redisServerCounters(redis);
  return { [`cpu:${REDIS}`]: cpuMs, [`commands:${REDIS}`]: commands };
}

/** The raw loop: BullMQ `Queue.add` → `Worker` → `completed`, all in the bench process. */
async function rawBullmq(): Promise<Side> {
  const prefix = `{bench-raw-${randomBytes(4).toString('hex')}}`;
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('raw-echo', { connection, prefix });
  const completions = new Completions();
  const worker = new Worker('raw-echo', async (job) => job.data as unknown, { connection: workerConnection, prefix, concurrency: WORKER_CONCURRENCY });
  worker.on('completed', (job) => completions.complete(job.id ?? ''));
  const close = async () => {
    await worker.close();
    await queue.close();
    connection.disconnect();
    workerConnection.disconnect();
    await deleteRedisPrefix(prefix.slice(1, -1));
  };
  try {
    await worker.waitUntilReady();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    completions,
    async start() {
      const at = performance.now();
      const job = await queue.add('echo', { input: { message: 'hello' } }, { removeOnComplete: true, removeOnFail: true });
      return { id: job.id ?? '', at };
    },
    read: async () => ({ [`cpu:${RAW_PROCESS}`]: processCpuMs(), ...(await redisCounters(connection)) }),
    close,
  };
}

/** Ours: echo runs POSTed to agent-api, completed when `run.completed` reaches a socket; `trace` follows each one. */
async function ours(context: ScenarioContext, trace: RunPathTrace): Promise<Side & { platform: Platform; redis: Redis }> {
  const platform = new Platform(context.profileDir ? { profileDir: `${context.profileDir}/runs` } : {});
  const closers: (() => Promise<void> | void)[] = [() => platform.stop()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    await platform.start([...SERVICES]);
    const agentId = await platform.echoAgent();
    const completions = new Completions();
    const socket = await connectLive(platform.service('ws-gateway').url, platform.token, (event) => {
      trace.event(event);
      if (event.type === 'run.completed') completions.complete(event.run_id);
    });
    closers.push(() => void socket.close());
    await subscribe(socket, { agent_id: agentId });
    const url = `${platform.service('agent-api').url}/agents/${agentId}/runs`;
    const headers = { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ input: { message: 'hello' } });
    const redis = new Redis(REDIS_URL);
    closers.push(() => redis.disconnect());
    const poster = new HttpPoster();
    closers.push(() => poster.close());
    return {
      platform,
      redis,
      completions,
      async start() {
        const at = performance.now();
        const sent = wallMs();
        const { status, body: run } = await poster.post<{ id?: string }>(url, headers, body);
        if (status !== 202 || !run?.id) throw new Error(`POST runs answered ${status}`);
        trace.answered(run.id, sent);
        return { id: run.id, at };
      },
      read: async () => ({
        ...Object.fromEntries(
          SERVICES.flatMap((name) => {
            const { pid } = platform.service(name);
            return [[`cpu:${name}`, cpuMsOf(pid)], [`syscalls:${name}`, syscallsOf(pid)], [`wakeups:${name}`, wakeupsOf(pid)]];
          }),
        ),
        [`cpu:${LOAD_GENERATOR}`]: processCpuMs(),
        ...(await redisCounters(redis)),
      }),
      beforeFixedRate: () => trace.reset(),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Closed-loop rounds per side: the first is `measure`'s, the others `throughput`'s, the two sides in turn. */
const ROUNDS = 3;

/** Scenario 2: raw BullMQ add → process loop → echo runs through agent-api, queue, coordinator, event log, gateway. */
export const runsScenario: Scenario = {
  id: 'runs',
  title: 'Runs: raw BullMQ add→process loop → echo runs POST→run.completed on a socket (one coordinator)',
  timeoutMs: (quick) => (quick ? 120_000 : 240_000),
  async run(context) {
    // First, with nothing else running: what this machine charges a process for waking from idle, after 1 ms and
    // after one run's interval at RATE. At RATE the same code costs two to three times its closed-loop CPU per run, by
    // how much depends on the machine (bench/README.md, "Twelfth session"); these rows say what kind of machine it was.
    const wakeMs = context.quick ? 1_000 : 2_000;
    const wakeCost = { afterOneMs: await wakeCostUs(1, wakeMs), afterRunInterval: await wakeCostUs(1000 / RATE, wakeMs) };
    // The raw loop is measured first with nothing else running (the platform is not started yet), then ours; then
    // both sides, now warmed up and both set up, take turns at more closed loops. This machine's speed drifts by tens
    // of percent within a minute, so the runs/s ratio is the median of the rounds' ratios (as in `http`).
    const rawSide = await rawBullmq();
    let raw: Measured;
    let mine: Measured;
    const rounds: { raw: number; ours: number }[] = [];
    try {
      raw = await measure(context, rawSide);
      const trace = new RunPathTrace(RUN_QUEUE);
      const ourSide = await ours(context, trace);
      try {
        mine = await measure(context, ourSide);
        const jobs = streamQueueKeys(Queues.runs, ourSide.platform.prefix).jobs;
        await trace.readPicked(ourSide.redis, (runId) => (RUN_QUEUE === 'streams' ? `${jobs}${runId}` : `{${ourSide.platform.prefix}}:${queueName(Queues.runs)}:${runId}`));
        for (const line of trace.summary()) context.note(line);
        rounds.push({ raw: raw.perSecond, ours: mine.perSecond });
        for (let round = 1; round < ROUNDS; round += 1) rounds.push({ raw: await throughput(context, rawSide), ours: await throughput(context, ourSide) });
      } finally {
        await ourSide.close();
      }
    } finally {
      await rawSide.close();
    }
    const median = [...rounds].sort((x, y) => x.ours / x.raw - y.ours / y.raw)[Math.floor(rounds.length / 2)] ?? { raw: raw.perSecond, ours: mine.perSecond };
    context.record(versus(`runs/s, closed loop of ${IN_FLIGHT}`, 'runs/s', median.raw, median.ours, { atLeast: 0.15 }));
    context.note(
      `runs/s, closed loop of ${IN_FLIGHT}: ratio per round ${rounds.map(({ raw: r, ours: o }) => `${(o / r).toFixed(2)} (${Math.round(o)} / ${Math.round(r)})`).join(', ')}; the median round is reported (the first round ${context.quick ? 3 : 10} s per side, with the CPU and latency rows below; the others ${context.quick ? 2 : 5} s, both sides set up)`,
    );
    context.record(versus(`p50 at ${RATE} runs/s`, 'ms', raw.p50, mine.p50));
    context.record(ceiling(`p99 at ${RATE} runs/s (POST → run.completed)`, 'ms', mine.p99, 20, raw.p99));
    // Where a run's CPU goes (idle CPU subtracted), in the closed loop and at the fixed rate: the raw loop's figure is
    // its whole bench process (queue and worker), ours the three services; Redis is on its own row for both.
    const sum = (counters: Counters, names: readonly string[]) => names.reduce((total, name) => total + (counters[name] ?? 0), 0);
    const cpuOf = (names: readonly string[]) => names.map((name) => `cpu:${name}`);
    for (const name of SERVICES) context.record(versus(`CPU per run: ${name}`, 'ms', null, mine.closed[`cpu:${name}`] ?? null));
    context.record(versus('CPU per run: all three services', 'ms', raw.closed[`cpu:${RAW_PROCESS}`] ?? null, sum(mine.closed, cpuOf(SERVICES))));
    context.record(versus(`CPU per run: ${REDIS}`, 'ms', raw.closed[`cpu:${REDIS}`] ?? null, mine.closed[`cpu:${REDIS}`] ?? null));
    context.record(versus(`CPU per run: ${LOAD_GENERATOR}`, 'ms', null, mine.closed[`cpu:${LOAD_GENERATOR}`] ?? null));
    context.record(versus('Redis commands per run', 'commands', raw.closed[`commands:${REDIS}`] ?? null, mine.closed[`commands:${REDIS}`] ?? null));
    for (const name of SERVICES) context.record(versus(`system calls per run: ${name}`, 'calls', null, mine.closed[`syscalls:${name}`] ?? null));
    const at = `at ${RATE} runs/s`;
    for (const name of SERVICES) context.record(versus(`${at}: CPU per run, ${name}`, 'ms', null, mine.fixed[`cpu:${name}`] ?? null));
    context.record(versus(`${at}: CPU per run, ${REDIS}`, 'ms', raw.fixed[`cpu:${REDIS}`] ?? null, mine.fixed[`cpu:${REDIS}`] ?? null));
    context.record(versus(`${at}: CPU per run, services + Redis (raw: bench process + Redis)`, 'ms', sum(raw.fixed, cpuOf([RAW_PROCESS, REDIS])), sum(mine.fixed, cpuOf([...SERVICES, REDIS]))));
    context.record(versus(`${at}: CPU per run, ${LOAD_GENERATOR}`, 'ms', null, mine.fixed[`cpu:${LOAD_GENERATOR}`] ?? null));
    context.record(versus(`${at}: Redis commands per run`, 'commands', raw.fixed[`commands:${REDIS}`] ?? null, mine.fixed[`commands:${REDIS}`] ?? null));
    for (const name of SERVICES) context.record(versus(`${at}: system calls per run, ${name}`, 'calls', null, mine.fixed[`syscalls:${name}`] ?? null));
    for (const name of SERVICES) context.record(versus(`${at}: event-loop wake-ups per run, ${name}`, 'wake-ups', null, mine.fixed[`wakeups:${name}`] ?? null));
    context.record(versus(`${at}: machine busy (all cores)`, '%', raw.busyAtRate * 100, mine.busyAtRate * 100));
    context.record(versus('machine: CPU per timer wake-up of an idle Node process, 1 ms asleep', 'µs', null, wakeCost.afterOneMs));
    context.record(versus(`machine: CPU per timer wake-up of an idle Node process, ${1000 / RATE} ms asleep`, 'µs', null, wakeCost.afterRunInterval));
    context.note(`raw: Queue.add → Worker (concurrency ${WORKER_CONCURRENCY}) → 'completed' in the bench process; ours: echo agent (delay_ms 0, parallel, max_concurrency 1000), one coordinator (RUN_WORKER_CONCURRENCY ${WORKER_CONCURRENCY}, RUN_QUEUE=${RUN_QUEUE}), latency measured POST sent → run.completed received on a socket.io client subscribed to the agent`);
    context.note(
      `machine: a fresh Node process sleeping on a timer, 1 ms and then ${1000 / RATE} ms at a time, for ${wakeMs / 1000} s each before anything else of the scenario runs; its user + system time divided by its wake-ups. Where it was added, the longer sleep made the dearer wake-up (114 against 253 µs; most likely colder caches: other processes, and on a shared virtual machine other guests, ran meanwhile): a hint of how much this machine charges for work done a little at a time, as at ${RATE} runs/s, against work done in batches, as in the closed loop`,
    );
    context.note(`CPU per run: user + system time of each process (/proc; Redis: INFO used_cpu_sys + used_cpu_user) over the closed loop, minus its idle rate sampled for ${IDLE_SAMPLE_MS / 1000} s just before, divided by the runs completed; "at ${RATE} runs/s" likewise from the first run sent at that rate to the last one completed, divided by the runs sent; system calls per run likewise from /proc/<pid>/io (syscr + syscw: socket reads and writes and SQLite's file reads and writes, so round trips and how well they are batched, steadier than CPU times on a shared machine); event-loop wake-ups per run at ${RATE} runs/s likewise from the main thread's voluntary context switches (/proc/<pid>/task/<pid>/status; in the closed loop the services hardly ever sleep); Redis commands per run from INFO total_commands_processed (a script counts once for its call and once per command it runs), on a Redis server the bench assumes nothing else uses; machine busy from /proc/stat, every process on the machine included`);
  },
};
