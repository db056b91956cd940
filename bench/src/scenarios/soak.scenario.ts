import { Streams, streamKey } from '@skreaver/contracts';
import { DEFAULT_JOB_RETENTION } from '@skreaver/messaging';
import Redis from 'ioredis';

import { Platform, REDIS_URL } from '../support/platform';
import type { ServiceName } from '../support/platform';
import { rssOf } from '../support/process-memory';
import { ceiling, versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';
import { seriesVerdict, slope, steadyStateBytes } from '../support/soak-verdict';
import { sleep } from '../support/time';

const SERVICES: ServiceName[] = ['agent-api', 'ws-gateway', 'mesh-coordinator'];
/** Echo runs per second: each appends three events (queued, started, completed), so 340 make ~1,000 events/s. */
const RUNS_PER_SECOND = Number(process.env['SOAK_RUNS_PER_SECOND'] ?? 340);
/**
 * How long a finished run's Redis log lives in the soak. The default (`RUN_EVENTS_TTL_SECONDS`, one hour) would make
 * Redis grow for an hour before the first log expires; a short one shows within minutes whether memory levels off
 * once logs expire as fast as they are written. The estimate gives what the default costs at the target rate.
 */
const EVENTS_TTL_SECONDS = 60;
/**
 * The global event stream's cap in the soak (`SKREAVER_EVENTS_STREAM_MAXLEN`): small enough to fill within the
 * warm-up at the few hundred events/s a shared machine reaches (the default 100,000 takes 12 minutes at 140/s); the
 * estimate scales the measured bytes per entry to the default.
 */
const STREAM_MAXLEN = Number(process.env['SOAK_EVENTS_STREAM_MAXLEN'] ?? 20_000);
/**
 * Queued runs beyond which the load generator holds back (about a second of work): past it the platform is not keeping
 * up, and a growing backlog (waiting jobs in Redis, requests in agent-api) would read as a leak. The soak measures
 * memory at the rate the platform sustains and reports that rate.
 */
const BACKLOG_LIMIT = Math.max(100, RUNS_PER_SECOND);
const MB = 1024 ** 2;
/** What growth over the window after warm-up still counts as flat (GC cycles and allocator pages are not leaks). */
const TOLERANCE = {
  redisMb: { floor: 2, share: 0.05 },
  keys: { floor: 200, share: 0.05 },
  logsPerRun: { floor: 0.2, share: 0.05 },
  // A service's RSS swings by tens of MB between major GCs; a leak shows as a trend beyond that.
  rssMb: { floor: 16, share: 0.05 },
} as const;

interface Sample {
  atS: number;
  usedMemory: number;
  /** MEMORY USAGE summed over the keys under the platform's prefix: this platform's own, whoever else uses Redis. */
  prefixBytes: number;
  /** Run logs alive (each expires RUN_EVENTS_TTL_SECONDS after its run), and their bytes: they follow the rate reached. */
  runLogKeys: number;
  runLogBytes: number;
  eventsStream: number;
  prefixKeys: number;
  eventsAdded: number;
  backlog: number;
  rss: Record<ServiceName, number>;
}

/** Keys under the platform's prefix (stream keys `prefix:…`, BullMQ keys `{prefix}…`), each passed to `visit`. */
async function scanPrefix(redis: Redis, prefix: string, visit: (keys: string[]) => Promise<void> | void): Promise<void> {
  for (const pattern of [`${prefix}:*`, `{${prefix}}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await visit(keys);
    } while (cursor !== '0');
  }
}

/** A key's shape: ids replaced, so the keys of a million runs are one line. */
const shapeOf = (key: string, prefix: string) =>
  key
    .replace(prefix, '<prefix>')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')
    .replace(/:\d+$/, ':<n>');

/** MEMORY USAGE of each key (missing keys count 0), in one round trip per batch. */
async function memoryUsage(redis: Redis, keys: readonly string[]): Promise<number[]> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.memory('USAGE', key);
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([, bytes]) => Number(bytes ?? 0));
}

const isRunLog = (key: string) => key.includes(':stream:runs.events.v1:');
const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN);
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/**
 * Scenario `soak` (opt-in: `--only soak [--duration <seconds>]`): the whole platform under a steady ~1,000 events/s
 * (echo runs at SOAK_RUNS_PER_SECOND, default 200, held back while more than a second of runs is queued), sampling
 * Redis memory (the platform's own keys, and `used_memory`), the global event stream's length, the number of keys,
 * the run queue's backlog and each service's RSS. Warm-up ends once every bound has had time to fill (the global
 * stream at its cap, run logs past their TTL, and at least a third of the run); after it, each series' slope is held
 * to a tolerance and the soak prints a verdict. Then it lists the keys left without a TTL once the load stops, measures
 * what each bounded part costs per entry, and estimates the steady-state Redis memory at the target rate.
 */
export const soakScenario: Scenario = {
  id: 'soak',
  title: "Soak: ~1,000 events/s, Redis memory and each service's RSS over time, flat after warm-up?",
  optIn: true,
  timeoutMs: (quick) => (quick ? 180_000 : 7_200_000),
  async run(context: ScenarioContext) {
    const durationS = context.durationS ?? (context.quick ? 30 : 120);
    // Many samples: the slope's error shrinks with their number, and RSS is noisy.
    const everyS = durationS >= 120 ? 10 : 3;
    const platform = new Platform({
      env: {
        RUN_EVENTS_TTL_SECONDS: String(EVENTS_TTL_SECONDS),
        SKREAVER_EVENTS_STREAM_MAXLEN: String(STREAM_MAXLEN),
        RUN_WORKER_CONCURRENCY: '64',
      },
      ...(context.profileDir ? { profileDir: `${context.profileDir}/soak` } : {}),
    });
    const redis = new Redis(REDIS_URL);
    try {
      await platform.start(SERVICES);
      const agentId = await platform.echoAgent();
      const api = platform.service('agent-api').url;
      const eventsKey = streamKey(Streams.events, platform.prefix);
      const queueKey = (suffix: string) => `{${platform.prefix}}:runs.v1:${suffix}`;
      const init: RequestInit = {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { message: 'soak' } }),
      };

      const sampleOnce = async (startedAt: number): Promise<Sample> => {
        const info = await redis.info('memory');
        let prefixKeys = 0;
        let prefixBytes = 0;
        let runLogKeys = 0;
        let runLogBytes = 0;
        await scanPrefix(redis, platform.prefix, async (keys) => {
          const bytes = await memoryUsage(redis, keys);
          for (const [index, key] of keys.entries()) {
            prefixKeys += 1;
            prefixBytes += bytes[index] ?? 0;
            if (!isRunLog(key)) continue;
            runLogKeys += 1;
            runLogBytes += bytes[index] ?? 0;
          }
        });
        const stream = (await redis.call('XINFO', 'STREAM', eventsKey).catch(() => [])) as unknown[];
        const addedAt = stream.indexOf('entries-added');
        const rss = Object.fromEntries(SERVICES.map((name) => [name, rssOf(platform.service(name).pid)])) as Record<ServiceName, number>;
        return {
          atS: (performance.now() - startedAt) / 1000,
          usedMemory: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN),
          prefixBytes,
          runLogKeys,
          runLogBytes,
          eventsStream: await redis.xlen(eventsKey),
          prefixKeys,
          eventsAdded: addedAt >= 0 ? Number(stream[addedAt + 1]) : Number.NaN,
          backlog: await redis.llen(queueKey('wait')),
          rss,
        };
      };
      const idle = await sampleOnce(performance.now());

      let refused = 0;
      let failed = 0;
      let held = 0;
      let firstFailure: string | undefined;
      const stop = new AbortController();
      const started = performance.now();
      // Open loop at a fixed rate, at most 256 requests in flight and BACKLOG_LIMIT runs queued: beyond either the
      // platform is not keeping up, and the soak records the rate it did reach rather than queueing without bound.
      let inFlight = 0;
      let sent = 0;
      let fired = 0;
      let backlog = 0;
      const watchBacklog = (async () => {
        while (!stop.signal.aborted) {
          backlog = await redis.llen(queueKey('wait')).catch(() => backlog);
          await sleep(200);
        }
      })();
      const load = (async () => {
        while (!stop.signal.aborted) {
          const due = Math.floor(((performance.now() - started) * RUNS_PER_SECOND) / 1000);
          while (sent < due && inFlight < 256 && backlog < BACKLOG_LIMIT) {
            sent += 1;
            fired += 1;
            inFlight += 1;
            fetch(`${api}/agents/${agentId}/runs`, init)
              .then(async (response) => {
                await response.text();
                if (response.status !== 202) {
                  refused += 1;
                  firstFailure ??= `POST answered ${response.status}`;
                }
              })
              .catch((error: unknown) => {
                failed += 1;
                firstFailure ??= String(error);
              })
              .finally(() => {
                inFlight -= 1;
              });
          }
          if (sent < due) {
            held += due - sent;
            sent = due; // skipped: counted as not sent
          }
          await sleep(5);
        }
      })();

      const samples: Sample[] = [];
      process.stdout.write('    t(s)  redis MB  prefix MB  run logs MB  events stream   keys  run logs  backlog  events/s  agent-api MB  ws-gateway MB  coordinator MB\n');
      while ((performance.now() - started) / 1000 < durationS) {
        await sleep(everyS * 1000 - (((performance.now() - started) / 1000) % everyS) * 1000);
        const sample = await sampleOnce(started);
        const previous = samples[samples.length - 1];
        const rate = previous ? (sample.eventsAdded - previous.eventsAdded) / (sample.atS - previous.atS) : Number.NaN;
        samples.push(sample);
        process.stdout.write(
          `    ${sample.atS.toFixed(0).padStart(4)}  ${(sample.usedMemory / MB).toFixed(1).padStart(8)}  ${(sample.prefixBytes / MB).toFixed(1).padStart(9)}  ${(sample.runLogBytes / MB).toFixed(1).padStart(11)}  ${String(sample.eventsStream).padStart(13)}  ${String(sample.prefixKeys).padStart(5)}  ${String(sample.runLogKeys).padStart(8)}  ${String(sample.backlog).padStart(7)}  ${rate.toFixed(0).padStart(8)}  ${(sample.rss['agent-api'] / MB).toFixed(1).padStart(12)}  ${(sample.rss['ws-gateway'] / MB).toFixed(1).padStart(13)}  ${(sample.rss['mesh-coordinator'] / MB).toFixed(1).padStart(14)}\n`,
        );
      }
      stop.abort();
      await Promise.all([load, watchBacklog]);
      const loadS = (performance.now() - started) / 1000;

      const first = samples[0];
      const last = samples[samples.length - 1];
      if (!first || !last) throw new Error('no samples');
      const eventsPerSecond = (last.eventsAdded - first.eventsAdded) / (last.atS - first.atS);
      const runsPerSecond = fired / loadS;
      context.record(versus('events/s reached (global event stream)', 'events/s', null, eventsPerSecond));
      context.record(versus(`runs/s posted (target ${RUNS_PER_SECOND}; held back while ${BACKLOG_LIMIT} queued)`, 'runs/s', RUNS_PER_SECOND, runsPerSecond));
      context.record(versus('global event stream length at the end', 'entries', STREAM_MAXLEN, last.eventsStream));

      // Warm-up: until every bound has had its chance to fill (the stream at its cap, the first run logs expired),
      // and at least the first third.
      const warmFrom = samples.find((sample) => sample.eventsStream >= 0.9 * STREAM_MAXLEN && sample.atS >= EVENTS_TTL_SECONDS + 30 && sample.atS >= durationS / 3);
      const warm = warmFrom ? samples.filter((sample) => sample.atS >= warmFrom.atS) : [];
      if (!warmFrom || warm.length < 3) {
        const why = `the global stream reached ${last.eventsStream} of its ${STREAM_MAXLEN} entries; warm-up needs it at 90 %, ${EVENTS_TTL_SECONDS + 30} s and a third of the run, then 3 samples`;
        context.note(`verdict: INCONCLUSIVE, never warmed up (${why}): run longer or at a higher rate`);
        process.stdout.write(`    verdict: INCONCLUSIVE, never warmed up (${why})\n`);
      } else {
        const times = warm.map((sample) => sample.atS / 60);
        // Run logs live RUN_EVENTS_TTL_SECONDS after their run, so their number follows the rate of the last TTL, which
        // a shared machine moves by ±50 %: they are held to that rate (alive per run of the last TTL, ~1 when they
        // expire as they should), and the rest of Redis on its own.
        const eventsPerRun = (last.eventsAdded - first.eventsAdded) / Math.max(1, fired);
        const logsPerRecentRun = warm.map((sample) => {
          const before = [...samples].reverse().find((earlier) => earlier.atS <= sample.atS - EVENTS_TTL_SECONDS) ?? first;
          const recentRuns = (sample.eventsAdded - before.eventsAdded) / eventsPerRun;
          return (sample.runLogKeys / Math.max(1, recentRuns)) * ((sample.atS - before.atS) / EVENTS_TTL_SECONDS);
        });
        const verdicts = [
          seriesVerdict("Redis memory of the platform's keys besides run logs", 'MB', times, warm.map((s) => (s.prefixBytes - s.runLogBytes) / MB), TOLERANCE.redisMb),
          seriesVerdict('keys besides run logs', 'keys', times, warm.map((s) => s.prefixKeys - s.runLogKeys), TOLERANCE.keys),
          seriesVerdict(`run logs alive per run of the last ${EVENTS_TTL_SECONDS} s`, 'logs/run', times, logsPerRecentRun, TOLERANCE.logsPerRun),
          ...SERVICES.map((name) => seriesVerdict(`${name} RSS`, 'MB', times, warm.map((s) => s.rss[name] / MB), TOLERANCE.rssMb)),
        ];
        context.record(versus('run logs alive per run of the last TTL, mean after warm-up', 'logs/run', 1, mean(logsPerRecentRun)));
        for (const verdict of verdicts) {
          // Met as the verdict decides it: the target shown is rounded.
          const metric = ceiling(`slope after warm-up: ${verdict.name}`, `${verdict.unit}/min`, verdict.perMinute, Number(verdict.allowedPerMinute.toPrecision(2)));
          context.record({ ...metric, met: !verdict.growing });
        }
        // For reference only: the platform's keys with their run logs follow the rate; Redis as a whole moves with
        // other users of a shared Redis.
        context.record(versus("Redis memory of the platform's keys (run logs included) slope after warm-up", 'MB/min', null, slope(times, warm.map((s) => s.prefixBytes / MB))));
        context.record(versus('Redis used_memory slope after warm-up (whole server)', 'MB/min', null, slope(times, warm.map((s) => s.usedMemory / MB))));
        context.record(versus('run queue backlog slope after warm-up', 'jobs/min', null, slope(times, warm.map((s) => s.backlog))));
        const growing = verdicts.filter((verdict) => verdict.growing);
        const falling = verdicts.filter((verdict) => verdict.falling);
        const windowMin = (times.at(-1) ?? 0) - (times[0] ?? 0);
        const list = (series: typeof verdicts) => series.map((v) => `${v.name} ${v.perMinute.toFixed(2)} ${v.unit}/min (allowed ±${v.allowedPerMinute.toFixed(2)})`).join('; ');
        const verdict = growing.length
          ? `GROWING: ${list(growing)}`
          : `FLAT: no series grew beyond its tolerance over ${windowMin.toFixed(1)} min after a ${warmFrom.atS.toFixed(0)} s warm-up${falling.length ? ` (fell: ${list(falling)})` : ''}`;
        context.note(`verdict: ${verdict}; tolerance = growth over the window ≤ max(floor, 5 % of the level): Redis ${TOLERANCE.redisMb.floor} MB, keys ${TOLERANCE.keys.floor}, run logs per run ${TOLERANCE.logsPerRun.floor}, RSS ${TOLERANCE.rssMb.floor} MB`);
        process.stdout.write(`    verdict: ${verdict}\n`);
      }
      if (refused || failed) context.note(`${refused} POSTs refused and ${failed} failed (first: ${firstFailure})`);
      if (held) context.note(`${held} runs not sent: the platform had ${BACKLOG_LIMIT} runs queued or 256 requests in flight`);

      // Once the load stops and the backlog of queued runs has run (up to 2 minutes): every key left without a TTL, by
      // shape. A finished run's log among them would grow without bound; an open run's log gets its TTL when it ends.
      const drainStarted = performance.now();
      while (performance.now() - drainStarted < 120_000) {
        const waiting = (await redis.llen(queueKey('wait'))) + (await redis.llen(queueKey('active')));
        if (waiting === 0 && inFlight === 0) break;
        await sleep(1_000);
      }
      context.note(`after the load: the queue drained in ${((performance.now() - drainStarted) / 1000).toFixed(0)} s`);
      await sleep(2_000);
      const noTtl = new Map<string, number>();
      const runLogs: string[] = [];
      const jobs: string[] = [];
      await scanPrefix(redis, platform.prefix, async (keys) => {
        const pipeline = redis.pipeline();
        for (const key of keys) pipeline.pttl(key);
        const ttls = (await pipeline.exec()) ?? [];
        for (const [index, key] of keys.entries()) {
          if (isRunLog(key) && runLogs.length < 50) runLogs.push(key);
          if (/:runs\.v1:[0-9a-f-]{36}$/.test(key) && jobs.length < 50) jobs.push(key);
          if (ttls[index]?.[1] !== -1) continue;
          let shape = shapeOf(key, platform.prefix);
          if (isRunLog(key)) {
            // Whether the run ended: its log's last event is terminal.
            const lastEntry = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
            const type = /"type":"([^"]+)"/.exec(lastEntry[0]?.[1]?.[1] ?? '')?.[1] ?? 'none';
            shape += ['run.completed', 'run.failed', 'run.cancelled'].includes(type) ? ' (run finished)' : ` (last event ${type})`;
          }
          noTtl.set(shape, (noTtl.get(shape) ?? 0) + 1);
        }
      });
      context.note(`keys without a TTL after the load (shape × count): ${[...noTtl].map(([shape, count]) => `${shape} × ${count}`).join(', ') || 'none'}`);

      // What each bounded part costs, measured on this run's keys, and the steady state they add up to.
      const completedSet = queueKey('completed');
      const completedJobs = await redis.zcard(completedSet);
      const [streamBytes = 0, setBytes = 0, queueEventsBytes = 0] = await memoryUsage(redis, [eventsKey, completedSet, queueKey('events')]);
      const streamLength = await redis.xlen(eventsKey);
      const perEntry = streamLength ? streamBytes / streamLength : Number.NaN;
      const perJob = mean(await memoryUsage(redis, jobs)) + (completedJobs ? setBytes / completedJobs : 0);
      const perLog = mean(await memoryUsage(redis, runLogs));
      context.record(versus('completed run jobs kept at the end (RUN_JOBS_COMPLETED_KEEP)', 'jobs', DEFAULT_JOB_RETENTION.completed.count, completedJobs));
      context.note(
        `bytes per part (MEMORY USAGE): a global event stream entry ~${perEntry.toFixed(0)} B, a completed run job ~${perJob.toFixed(0)} B (hash + its place in the completed set), a finished run's log ~${perLog.toFixed(0)} B, BullMQ's event stream ${mb(queueEventsBytes)}; idle platform ${mb(idle.prefixBytes)} of its own keys`,
      );
      const runSeconds = 1; // an echo run takes milliseconds; a second covers queueing
      const estimate = (runs: number, ttlS: number, streamMaxLen: number) =>
        steadyStateBytes({
          idleBytes: idle.prefixBytes,
          runsPerSecond: runs,
          bytesPerStreamEntry: perEntry,
          streamMaxLen,
          bytesPerJob: perJob,
          jobsKept: DEFAULT_JOB_RETENTION.completed.count,
          bytesPerRunLog: perLog,
          runLogLifeSeconds: ttlS + runSeconds,
          queueEventsBytes,
        });
      const model = estimate(runsPerSecond, EVENTS_TTL_SECONDS, STREAM_MAXLEN);
      const measured = mean(warm.map((sample) => sample.prefixBytes));
      context.record(versus("steady-state Redis memory of the platform's keys: estimate (baseline) vs measured after warm-up", 'MB', model.total / MB, measured / MB));
      const defaults = (ttlS: number) => estimate(RUNS_PER_SECOND, ttlS, 100_000);
      const withHour = defaults(3_600);
      const withDay = defaults(86_400);
      context.note(
        `steady-state estimate at the target ${RUNS_PER_SECOND} runs/s with the default stream cap (100,000) and job retention (1,000): ${mb(withHour.total)} with the default RUN_EVENTS_TTL_SECONDS=3600 (${Object.entries(withHour.parts).map(([part, bytes]) => `${part} ${mb(bytes)}`).join(', ')}); ${mb(withDay.total)} with a day`,
      );
      context.note(`samples every ${everyS} s for ${durationS} s; RUN_EVENTS_TTL_SECONDS=${EVENTS_TTL_SECONDS}, SKREAVER_EVENTS_STREAM_MAXLEN=${STREAM_MAXLEN}, RUN_WORKER_CONCURRENCY=64, one replica of each service, SQLite, Redis on loopback`);
    } finally {
      redis.disconnect();
      await platform.stop();
    }
  },
};
