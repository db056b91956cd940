import { Streams, streamKey } from '@skreaver/contracts';
import Redis from 'ioredis';

import { Platform, REDIS_URL } from '../support/platform';
import type { ServiceName } from '../support/platform';
import { rssOf } from '../support/process-memory';
import { versus } from '../support/results';
import type { Scenario, ScenarioContext } from '../support/results';
import { sleep } from '../support/time';

const SERVICES: ServiceName[] = ['agent-api', 'ws-gateway', 'mesh-coordinator'];
/** Echo runs per second: each appends about five events (queued, started, its message, completed…), ~1,000 events/s. */
const RUNS_PER_SECOND = Number(process.env['SOAK_RUNS_PER_SECOND'] ?? 200);
/**
 * How long a finished run's Redis log lives in the soak. The default (`RUN_EVENTS_TTL_SECONDS`, one day) would make
 * Redis grow for a whole day before the first log expires; a short one shows within minutes whether memory levels off
 * once logs expire as fast as they are written. The note gives what the default costs at this rate.
 */
const EVENTS_TTL_SECONDS = 60;
const MB = 1024 ** 2;

interface Sample {
  atS: number;
  usedMemory: number;
  eventsStream: number;
  prefixKeys: number;
  eventsAdded: number;
  rss: Record<ServiceName, number>;
}

/** Least-squares slope of `y` over `x`. */
function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  if (n < 2) return Number.NaN;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += ((x[i] as number) - mx) * ((y[i] as number) - my);
    den += ((x[i] as number) - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
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

/**
 * Scenario `soak` (opt-in: `--only soak [--duration <seconds>]`): the whole platform under a steady ~1,000 events/s
 * (echo runs at SOAK_RUNS_PER_SECOND, default 200), sampling Redis `used_memory`, the global event stream's length, the
 * number of keys, and each service's RSS; prints the curve and each series' slope after the warm-up (the first third),
 * then lists the keys left without a TTL once the load stops.
 */
export const soakScenario: Scenario = {
  id: 'soak',
  title: 'Soak: ~1,000 events/s, Redis memory and each service\'s RSS over time (slope after warm-up)',
  optIn: true,
  timeoutMs: (quick) => (quick ? 180_000 : 7_200_000),
  async run(context: ScenarioContext) {
    const durationS = context.durationS ?? (context.quick ? 30 : 120);
    const everyS = durationS >= 600 ? 30 : durationS >= 120 ? 10 : 3;
    const platform = new Platform({
      env: { RUN_EVENTS_TTL_SECONDS: String(EVENTS_TTL_SECONDS), RUN_WORKER_CONCURRENCY: '64' },
      ...(context.profileDir ? { profileDir: `${context.profileDir}/soak` } : {}),
    });
    const redis = new Redis(REDIS_URL);
    try {
      await platform.start(SERVICES);
      const agentId = await platform.echoAgent();
      const api = platform.service('agent-api').url;
      const eventsKey = streamKey(Streams.events, platform.prefix);
      const init: RequestInit = {
        method: 'POST',
        headers: { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { message: 'soak' } }),
      };

      let refused = 0;
      let failed = 0;
      let firstFailure: string | undefined;
      const stop = new AbortController();
      const started = performance.now();
      // Open loop at a fixed rate, at most 256 requests in flight (beyond that the platform is not keeping up, and the
      // soak records the rate it did reach rather than queueing requests without bound in the load generator).
      let inFlight = 0;
      let sent = 0;
      let fired = 0;
      const load = (async () => {
        while (!stop.signal.aborted) {
          const due = Math.floor(((performance.now() - started) * RUNS_PER_SECOND) / 1000);
          while (sent < due && inFlight < 256) {
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
          if (sent < due) sent = due; // skipped: counted as not sent
          await sleep(5);
        }
      })();

      const samples: Sample[] = [];
      const sampleOnce = async (): Promise<Sample> => {
        const info = await redis.info('memory');
        let prefixKeys = 0;
        await scanPrefix(redis, platform.prefix, (keys) => {
          prefixKeys += keys.length;
        });
        const stream = (await redis.call('XINFO', 'STREAM', eventsKey).catch(() => [])) as unknown[];
        const addedAt = stream.indexOf('entries-added');
        const rss = Object.fromEntries(SERVICES.map((name) => [name, rssOf(platform.service(name).pid)])) as Record<ServiceName, number>;
        return {
          atS: (performance.now() - started) / 1000,
          usedMemory: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN),
          eventsStream: await redis.xlen(eventsKey),
          prefixKeys,
          eventsAdded: addedAt >= 0 ? Number(stream[addedAt + 1]) : Number.NaN,
          rss,
        };
      };
      process.stdout.write('    t(s)  redis MB  events stream  keys  events/s  agent-api MB  ws-gateway MB  coordinator MB\n');
      while ((performance.now() - started) / 1000 < durationS) {
        await sleep(everyS * 1000 - (((performance.now() - started) / 1000) % everyS) * 1000);
        const sample = await sampleOnce();
        const previous = samples[samples.length - 1];
        const rate = previous ? (sample.eventsAdded - previous.eventsAdded) / (sample.atS - previous.atS) : Number.NaN;
        samples.push(sample);
        process.stdout.write(
          `    ${sample.atS.toFixed(0).padStart(4)}  ${(sample.usedMemory / MB).toFixed(1).padStart(8)}  ${String(sample.eventsStream).padStart(13)}  ${String(sample.prefixKeys).padStart(5)}  ${rate.toFixed(0).padStart(8)}  ${(sample.rss['agent-api'] / MB).toFixed(1).padStart(12)}  ${(sample.rss['ws-gateway'] / MB).toFixed(1).padStart(13)}  ${(sample.rss['mesh-coordinator'] / MB).toFixed(1).padStart(14)}\n`,
        );
      }
      stop.abort();
      await load;
      const loadS = (performance.now() - started) / 1000;

      const first = samples[0];
      const last = samples[samples.length - 1];
      if (!first || !last) throw new Error('no samples');
      const elapsedS = last.atS - first.atS;
      context.record(versus('events/s reached (global event stream)', 'events/s', null, (last.eventsAdded - first.eventsAdded) / elapsedS));
      context.record(versus('runs/s posted (at most 256 in flight)', 'runs/s', RUNS_PER_SECOND, fired / loadS));
      const warm = samples.filter((sample) => sample.atS >= durationS / 3);
      const times = warm.map((sample) => sample.atS / 60);
      const perMinute = (values: number[]) => slope(times, values);
      context.record(versus('Redis used_memory after warm-up', 'MB', first.usedMemory / MB, last.usedMemory / MB));
      context.record(versus('Redis used_memory slope after warm-up', 'MB/min', null, perMinute(warm.map((s) => s.usedMemory / MB))));
      context.record(versus('keys under the prefix slope after warm-up', 'keys/min', null, perMinute(warm.map((s) => s.prefixKeys))));
      context.record(versus('global event stream length at the end', 'entries', Streams.events.maxLen, last.eventsStream));
      for (const name of SERVICES) {
        context.record(versus(`${name} RSS after warm-up`, 'MB', (warm[0] ?? first).rss[name] / MB, last.rss[name] / MB));
        context.record(versus(`${name} RSS slope after warm-up`, 'MB/min', null, perMinute(warm.map((s) => s.rss[name] / MB))));
      }
      if (refused || failed) context.note(`${refused} POSTs refused and ${failed} failed (first: ${firstFailure})`);

      // Once the load stops and the backlog of queued runs has run (up to 2 minutes): every key left without a TTL, by
      // shape. A finished run's log among them would grow without bound; an open run's log gets its TTL when it ends.
      const drainStarted = performance.now();
      const queueKeys = [`{${platform.prefix}}:runs.v1:wait`, `{${platform.prefix}}:runs.v1:active`];
      while (performance.now() - drainStarted < 120_000) {
        const waiting = (await redis.llen(queueKeys[0] as string)) + (await redis.llen(queueKeys[1] as string));
        if (waiting === 0 && inFlight === 0) break;
        await sleep(1_000);
      }
      context.note(`after the load: the queue drained in ${((performance.now() - drainStarted) / 1000).toFixed(0)} s`);
      await sleep(2_000);
      const noTtl = new Map<string, number>();
      const runLogs: number[] = [];
      await scanPrefix(redis, platform.prefix, async (keys) => {
        const pipeline = redis.pipeline();
        for (const key of keys) pipeline.pttl(key);
        const ttls = (await pipeline.exec()) ?? [];
        for (const [index, key] of keys.entries()) {
          if (ttls[index]?.[1] !== -1) continue;
          let shape = shapeOf(key, platform.prefix);
          if (key.includes(':stream:runs.events.v1:')) {
            // Whether the run ended: its log's last event is terminal.
            const last = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
            const type = /"type":"([^"]+)"/.exec(last[0]?.[1]?.[1] ?? '')?.[1] ?? 'none';
            shape += ['run.completed', 'run.failed', 'run.cancelled'].includes(type) ? ' (run finished)' : ` (last event ${type})`;
          }
          noTtl.set(shape, (noTtl.get(shape) ?? 0) + 1);
        }
        for (const key of keys.filter((k) => k.includes(':stream:runs.events.v1:')).slice(0, 20 - runLogs.length)) {
          runLogs.push(Number(await redis.memory('USAGE', key)));
        }
      });
      context.note(`keys without a TTL after the load (shape × count): ${[...noTtl].map(([shape, count]) => `${shape} × ${count}`).join(', ') || 'none'}`);
      const perLog = runLogs.length ? runLogs.reduce((a, b) => a + b, 0) / runLogs.length : Number.NaN;
      context.note(
        `a finished run's Redis log takes ~${(perLog / 1024).toFixed(1)} KiB (MEMORY USAGE, mean of ${runLogs.length}); it expires RUN_EVENTS_TTL_SECONDS after the run (${EVENTS_TTL_SECONDS} s in this soak): at ${RUNS_PER_SECOND} runs/s the default of one day holds ~${((perLog * RUNS_PER_SECOND * 86_400) / 1024 ** 3).toFixed(1)} GiB of run logs in Redis at steady state`,
      );
      context.note(`samples every ${everyS} s for ${durationS} s; warm-up = the first third; RUN_WORKER_CONCURRENCY=64, one replica of each service, SQLite, Redis on loopback`);
    } finally {
      redis.disconnect();
      await platform.stop();
    }
  },
};

