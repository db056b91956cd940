import { Queues, Streams, streamKey, streamQueueKeys } from '@skreaver/contracts';
import type { Agent, ApiErrorBody, MeshPresenceList, Run } from '@skreaver/contracts';
import { privateRedis, waitFor } from '@skreaver/testing';
import type { PrivateRedis } from '@skreaver/testing';
import Redis from 'ioredis';

import { call } from '../support/api-client';
import { socketIoClient } from '../support/gateway-clients';
import type { LiveClient } from '../support/gateway-clients';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

const TOPIC = 'restart-topic';
// What a request may answer while Redis is down: a clean, retryable refusal with a stable code, never a 500.
const OUTAGE_CODES = ['redis_unavailable', 'queue_unavailable'];
// Longer than any request may take, outage or not: past this a request counts as hung.
const REQUEST_TIMEOUT_MS = 5_000;
// Long enough for reconnect backoffs to reach their cap and run locks (RUN_LOCK_DURATION_MS below) to expire.
const OUTAGE_MS = 3_000;

type Kind = 'unicast' | 'topic' | 'run';

/** One request of the traffic and how it ended. */
interface Outcome {
  kind: Kind;
  /** The mesh message id (unicast, topic) or the run id (run, when accepted). */
  id: string;
  startedAt: number;
  endedAt: number;
  status: number | 'hung' | 'network_error';
  error?: string;
}

// The mesh issue's scenario: Redis (AOF, appendfsync always) is SIGKILLed while messages and runs stream in and is
// restarted on the same port and data. The services are not restarted: they refuse cleanly while it is down, report
// it in /ready, reconnect by themselves, and every message or run they accepted is delivered and run exactly once.
describe('Redis restarted mid-stream', () => {
  let redis: PrivateRedis;
  let stack: Stack;
  let watcher: LiveClient | undefined;

  beforeAll(async () => {
    redis = await privateRedis({ appendfsync: 'always' });
    stack = await startStack({
      redisUrl: redis.url,
      coordinators: 2,
      env: {
        // Entries whose XREADGROUP reply or XACK was cut off by the crash stay pending until another consumer
        // reclaims them after this (30 s by default); deliveries that merely failed are retried in place.
        SKREAVER_MESH_CLAIM_IDLE_MS: '1000',
        // A run job whose worker lost its lock during the outage is handed on within about two lock durations.
        RUN_LOCK_DURATION_MS: '2000',
        // Heartbeats often enough to see them resume within the test.
        SKREAVER_MESH_HEARTBEAT_MS: '300',
      },
    });
  }, 60_000);

  afterAll(async () => {
    watcher?.close();
    try {
      await stack?.stop();
    } finally {
      // Even when the test failed with Redis down: no redis-server may outlive the file.
      await redis?.cleanup();
    }
  }, 40_000);

  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);

  async function agent(name: string, config: Record<string, unknown>): Promise<Agent> {
    const created = await api<Agent>('POST', '/agents', { name, kind: 'echo', config, concurrency: { policy: 'parallel', max_concurrency: 50 } });
    expect(created.status).toBe(201);
    return created.body;
  }

  /** Mesh entries not yet delivered (unread or read but unacked) and run jobs not yet done, straight from Redis. */
  async function backlog(): Promise<{ undelivered: number; unfinished: number }> {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      const key = streamKey(Streams.meshMessages, stack.redis.prefix);
      const groups = (await client.xinfo('GROUPS', key)) as unknown[][];
      const group = groups.map((fields) => Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]])));
      const delivery = group.find((fields) => fields['name'] === 'mesh-delivery') ?? {};
      const unread = (await client.xrange(key, `(${String(delivery['last-delivered-id'])}`, '+')).length;
      const jobs = streamQueueKeys(Queues.runs, stack.redis.prefix);
      // The run queue's stream holds the jobs waiting and active; retries wait in the delayed set.
      const [inStream, delayed] = await Promise.all([client.xlen(jobs.stream), client.zcard(jobs.delayed)]);
      return { undelivered: unread + Number(delivery['pending']), unfinished: inStream + delayed };
    } finally {
      client.disconnect();
    }
  }

  const readyStatus = async (service: ServiceProcess) => {
    const response = await fetch(`${service.url}/ready`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    return { status: response.status, body: (await response.json()) as { checks: Record<string, { status: string; error?: string }> } };
  };

  it('should refuse cleanly while Redis is down, recover by itself, and deliver every accepted message and run exactly once', async () => {
    const targets = [await agent('target-a', { delay_ms: 150 }), await agent('target-b', { delay_ms: 150 })];
    const subscribers = [
      await agent('sub-a', { delay_ms: 150, subscriptions: [TOPIC] }),
      await agent('sub-b', { delay_ms: 150, subscriptions: [TOPIC] }),
    ];
    const runner = await agent('runner', { delay_ms: 150 });
    const slow = await agent('slow', { delay_ms: 20_000 });
    const live = await socketIoClient(stack.gateways[0]?.url ?? '', stack.adminToken);
    watcher = live;
    expect(await live.subscribe({ topic: TOPIC })).toMatchObject({ ok: true });
    expect(await live.subscribe({ agent_id: runner.id })).toMatchObject({ ok: true });

    // Traffic: one sender per kind, each sending back to back until stopped. An API key, not a token: keys are
    // checked against the database, so during the outage the requests reach the mesh and run paths instead of
    // being refused by the token denylist check.
    const outcomes: Outcome[] = [];
    let sending = true;
    let sequence = 0;
    const headers = { 'x-api-key': stack.adminKey, 'content-type': 'application/json' };
    const sendOne = async (kind: Kind): Promise<void> => {
      const n = ++sequence;
      const id = `${kind}-${n}`;
      const [path, body] =
        kind === 'run'
          ? [`/agents/${runner.id}/runs`, { input: { n } }]
          : ['/mesh/messages', kind === 'unicast' ? { id, to: targets[n % 2]?.id, kind: 'n', payload: { n } } : { id, topic: TOPIC, kind: 'n', payload: { n } }];
      const startedAt = performance.now();
      const outcome: Outcome = { kind, id, startedAt, endedAt: startedAt, status: 'network_error' };
      try {
        const response = await fetch(`${stack.api.url}${path}`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const answer = (await response.json()) as Partial<ApiErrorBody> & { id?: string };
        outcome.status = response.status;
        outcome.error = answer.error;
        if (kind === 'run' && response.status === 202 && answer.id) outcome.id = answer.id;
      } catch (error) {
        outcome.status = error instanceof Error && error.name === 'TimeoutError' ? 'hung' : 'network_error';
        outcome.error = String(error);
      }
      outcome.endedAt = performance.now();
      outcomes.push(outcome);
    };
    const sender = async (kind: Kind) => {
      while (sending) {
        await sendOne(kind);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const traffic = Promise.all((['unicast', 'topic', 'run'] as const).map(sender));
    const accepted = (kind: Kind, after = 0) => outcomes.filter((o) => o.kind === kind && o.status === 202 && o.startedAt >= after);
    try {
      await waitFor(() => (['unicast', 'topic', 'run'] as const).every((kind) => accepted(kind).length >= 10), { timeoutMs: 10_000, what: 'traffic before the kill' });

      // A burst just before the kill, so that the crash finds messages accepted but not yet delivered and runs not
      // yet finished (checked: without a backlog a lost message could go unnoticed).
      await Promise.all([
        ...Array.from({ length: 20 }, () => sendOne('unicast')),
        ...Array.from({ length: 10 }, () => sendOne('topic')),
        ...Array.from({ length: 10 }, () => sendOne('run')),
      ]);
      const { undelivered, unfinished } = await backlog();
      expect(undelivered).toBeGreaterThan(0);
      expect(unfinished).toBeGreaterThan(0);

      // Hard kill, as a crash or an OOM kill would: no shutdown, only what is in the AOF survives (with appendfsync
      // always, every write Redis acknowledged).
      await redis.kill();
      const killedAt = performance.now();

      // Every service notices and names Redis in /ready; token holders get a clean 503 too.
      await Promise.all(
        stack.all().map((service) =>
          waitFor(async () => {
            const ready = await readyStatus(service);
            return ready.status === 503 && ready.body.checks['redis']?.status === 'down';
          }, { timeoutMs: 10_000, what: `${service.name} /ready 503 naming redis` }),
        ),
      );
      const withToken = await api<ApiErrorBody>('POST', '/mesh/messages', { to: targets[0]?.id, kind: 'n' });
      expect([withToken.status, withToken.body.error]).toEqual([503, 'redis_unavailable']);
      // Keep the outage up until each kind of request was refused a few times after it began.
      await waitFor(
        () => (['unicast', 'topic', 'run'] as const).every((kind) => outcomes.filter((o) => o.kind === kind && o.startedAt >= killedAt).length >= 3),
        { timeoutMs: 10_000, what: 'requests during the outage' },
      );
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (performance.now() - killedAt)));

      // Same port, same AOF directory; the services are left alone.
      const restartingAt = performance.now();
      const restartingAtMs = Date.now();
      await redis.start();
      const restartedAt = performance.now();
      const outageMs = restartedAt - killedAt;
      // Answered before Redis was started again (once it answers, the services may accept requests again).
      const duringOutage = outcomes.filter((o) => o.startedAt >= killedAt && o.endedAt <= restartingAt);
      await Promise.all(
        stack.all().map((service) =>
          waitFor(async () => (await readyStatus(service)).status === 200, { timeoutMs: 15_000, intervalMs: 50, what: `${service.name} /ready 200 after the restart` }),
        ),
      );
      const readyAgainMs = performance.now() - restartedAt;

      // Traffic after the recovery is accepted again.
      const recoveredAt = performance.now();
      await waitFor(() => (['unicast', 'topic', 'run'] as const).every((kind) => accepted(kind, recoveredAt).length >= 5), {
        timeoutMs: 10_000,
        what: 'traffic accepted after the recovery',
      });
      sending = false;
      await traffic;

      // Requests: accepted or refused with a stable code, never a 500, a hang or a dropped connection.
      const unexpected = outcomes.filter((o) => o.status !== 202 && !(o.status === 503 && OUTAGE_CODES.includes(o.error ?? '')));
      expect(unexpected).toEqual([]);
      expect(duringOutage.length).toBeGreaterThanOrEqual(9);
      expect(duringOutage.filter((o) => o.status !== 503)).toEqual([]);

      // Every accepted message became exactly one completed mesh run of each recipient, and every accepted run completed.
      const unicastIds = accepted('unicast').map((o) => o.id);
      const topicIds = accepted('topic').map((o) => o.id);
      const runIds = accepted('run').map((o) => o.id);
      const runsOf = async (agentId: string) =>
        (await api<{ items: Run[] }>('GET', `/agents/${agentId}/runs?limit=500`)).body.items;
      const messageIdOf = (run: Run) => (run.input as { mesh?: { message_id?: string } }).mesh?.message_id ?? '';
      const settled = await waitFor(
        async () => {
          const [a, b, s1, s2, r] = await Promise.all([...targets, ...subscribers, runner].map((target) => runsOf(target.id)));
          const meshRuns = { unicast: [...(a ?? []), ...(b ?? [])], s1: s1 ?? [], s2: s2 ?? [] };
          const completed = (runs: Run[]) => new Set(runs.filter((run) => run.source === 'mesh' && run.status === 'completed').map(messageIdOf));
          const done =
            unicastIds.every((id) => completed(meshRuns.unicast).has(id)) &&
            topicIds.every((id) => completed(meshRuns.s1).has(id) && completed(meshRuns.s2).has(id)) &&
            runIds.every((id) => (r ?? []).some((run) => run.id === id && run.status === 'completed'));
          return done ? meshRuns : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: 'every accepted message and run to complete' },
      );
      const deliveredMs = performance.now() - restartedAt;
      const duplicates = (runs: Run[]) => {
        const ids = runs.filter((run) => run.source === 'mesh').map(messageIdOf);
        return ids.filter((id, i) => ids.indexOf(id) !== i);
      };
      expect(duplicates(settled.unicast)).toEqual([]);
      expect(duplicates(settled.s1)).toEqual([]);
      expect(duplicates(settled.s2)).toEqual([]);

      // The gateway's mesh tailer resumed where it was: the socket subscribed before the outage got every accepted
      // topic message, once.
      const seen = await waitFor(
        () => {
          const ids = live.meshMessages.map((message) => message.id);
          return topicIds.every((id) => ids.includes(id)) ? ids : undefined;
        },
        { timeoutMs: 10_000, what: 'every accepted topic message on the socket' },
      );
      expect(seen.filter((id, i) => seen.indexOf(id) !== i)).toEqual([]);

      // The other Redis readers are back too: agent-api's event hub ends a ?wait, the gateway streams the run's
      // events to the socket subscribed before the outage, the coordinators' cancellation subscribers abort a
      // running run, and both coordinators heartbeat again.
      const waited = await api<Run>('POST', `/agents/${runner.id}/runs?wait=10`, { input: 'after the restart' });
      expect([waited.status, waited.body.status]).toEqual([200, 'completed']);
      await waitFor(() => live.events.some((event) => event.run_id === waited.body.id && event.type === 'run.completed'), {
        timeoutMs: 5_000,
        what: 'the run.completed event on the socket',
      });
      const long = (await api<Run>('POST', `/agents/${slow.id}/runs`, { input: 'to cancel' })).body;
      await waitFor(async () => (await api<Run>('GET', `/runs/${long.id}`)).body.status === 'running', { what: 'the slow run to start' });
      const cancelled = await api<Run>('POST', `/runs/${long.id}/cancel`);
      expect([cancelled.status, cancelled.body.status]).toEqual([200, 'cancelled']);
      await waitFor(
        async () => {
          const coordinators = (await api<MeshPresenceList>('GET', '/mesh/presence')).body.items.filter((item) => item.kind === 'coordinator');
          return coordinators.length === 2 && coordinators.every((item) => Date.parse(item.last_seen) > restartingAtMs);
        },
        { timeoutMs: 5_000, what: 'both coordinators heartbeating after the restart' },
      );

      process.stdout.write(
        `Redis SIGKILLed with ${undelivered} mesh entries undelivered and ${unfinished} run jobs unfinished, ` +
          `down ${outageMs.toFixed(0)} ms (${duringOutage.length} requests refused with 503); /ready 200 on every service ` +
          `${readyAgainMs.toFixed(0)} ms and everything accepted (${unicastIds.length} unicast, ${topicIds.length} topic ` +
          `messages, ${runIds.length} runs) completed ${deliveredMs.toFixed(0)} ms after the restart\n`,
      );
    } finally {
      sending = false;
      await traffic;
    }

    // Nothing crashed: every process is still up, printed only JSON log lines (Node prints an uncaught exception's
    // stack as plain text) and none reported an uncaught exception or unhandled rejection.
    for (const service of stack.all()) {
      expect([service.name, service.child.exitCode, service.child.signalCode]).toEqual([service.name, null, null]);
      expect([service.name, service.output.filter((line) => !line.startsWith('{'))]).toEqual([service.name, []]);
      expect(service.jsonLogs().filter((line) => /uncaught|unhandled/i.test(JSON.stringify(line)))).toEqual([]);
    }
  }, 55_000);
});
