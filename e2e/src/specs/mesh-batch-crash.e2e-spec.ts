import { Streams, streamKey } from '@skreaver/contracts';
import type { Agent, Run } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import Redis from 'ioredis';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

const GROUP = 'mesh-delivery';
// Per backlog, and at most this many backlogs (the runs listed per agent stay within one page of 500).
const MESSAGES = 1_000;
const BACKLOGS = 5;
const AGENTS = 16;

// A coordinator delivers a read of mesh entries as one batch: their runs are committed in one transaction, then
// logged, admitted, enqueued, and only then acked. Killed between the commit and the ack, it leaves entries pending
// whose runs exist: the other coordinator reclaims them and must find those runs (their idempotency keys), not make
// second ones, and must not lose any message.
describe('mesh batch delivery when a coordinator is SIGKILLed between commit and ack', () => {
  let stack: Stack;
  let redis: Redis;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);
  const meshKey = () => streamKey(Streams.meshMessages, stack.redis.prefix);

  beforeAll(async () => {
    stack = await startStack({ coordinators: 2, env: { SKREAVER_MESH_CLAIM_IDLE_MS: '2000', RUN_LOCK_DURATION_MS: '2000', SKREAVER_RATE_LIMIT_PER_SUBJECT: '0', SKREAVER_RATE_LIMIT_PER_IP: '0' } });
    redis = new Redis(stack.redis.url);
  }, 60_000);

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
  }, 30_000);

  async function meshRuns(targets: Agent[]): Promise<Run[]> {
    const lists = await Promise.all(targets.map(async (target) => (await api<{ items: Run[] }>('GET', `/agents/${target.id}/runs?limit=500`)).body.items));
    return lists.flat().filter((run) => run.source === 'mesh');
  }

  /** The tenant's newest 1,000 runs (two pages): what a frozen coordinator's batch just committed is among them. */
  async function recentRuns(): Promise<Run[]> {
    const first = (await api<{ items: Run[]; next_cursor?: string | null }>('GET', '/runs?limit=500')).body;
    if (!first.next_cursor) return first.items;
    const second = (await api<{ items: Run[] }>('GET', `/runs?limit=500&cursor=${first.next_cursor}`)).body;
    return [...first.items, ...second.items];
  }

  const messageIdOf = (run: Run) => (run.input as { mesh: { message_id: string } }).mesh.message_id;

  /** Whether the group has read every entry of the stream and acked them all (one XINFO, cheap enough to poll). */
  async function backlogDone(): Promise<boolean> {
    const groups = (await redis.xinfo('GROUPS', meshKey())) as unknown[][];
    const group = groups.map((fields) => Object.fromEntries(fields.flatMap((value, i) => (i % 2 === 0 ? [[String(value), fields[i + 1]]] : [])))).find((g) => g['name'] === GROUP);
    return group !== undefined && Number(group['lag']) === 0 && Number(group['pending']) === 0;
  }

  it('should turn every accepted message into exactly one run', async () => {
    const targets: Agent[] = [];
    for (let i = 0; i < AGENTS; i += 1) {
      const created = await api<Agent>('POST', '/agents', { name: `crash-${i}`, kind: 'echo', config: {}, concurrency: { policy: 'parallel', max_concurrency: 50 } });
      expect(created.status).toBe(201);
      targets.push(created.body);
    }
    const [victim] = stack.coordinators as [ServiceProcess, ServiceProcess];
    const consumerOf = (coordinator: ServiceProcess) =>
      (coordinator.jsonLogs().find((line) => (line['fields'] as { consumer?: string } | undefined)?.consumer)?.['fields'] as { consumer: string }).consumer;
    const victimConsumer = consumerOf(victim);

    // Appended straight to the mesh stream as agent-api publishes them, in one pipeline: a backlog that keeps both
    // coordinators reading full batches for a while (over HTTP the batches would be small and quickly acked). When a
    // backlog is worked off before the victim was caught in the window (a loaded machine, an unlucky schedule),
    // another one follows.
    let sent = 0;
    const appendBacklog = async () => {
      const pipeline = redis.pipeline();
      for (let n = 0; n < MESSAGES; n += 1, sent += 1) {
        const target = targets[sent % targets.length] as Agent;
        const envelope = { id: `c-${sent}`, tenant_id: target.tenant_id, from: 'key:e2e', kind: 'n', payload: { n: sent }, ts: new Date().toISOString(), to: target.id };
        pipeline.xadd(meshKey(), '*', 'data', JSON.stringify(envelope));
      }
      await pipeline.exec();
    };

    // Freeze the victim while it holds entries whose runs are already committed (the window between the commit and
    // the XACK); a stop that caught it elsewhere is undone and tried again. Then it dies as a crash would.
    let committedButPending = 0;
    let heldByVictim = 0;
    for (let round = 0; committedButPending < 2 && round < BACKLOGS; round += 1) {
      await appendBacklog();
      const until = Date.now() + 30_000;
      while (committedButPending < 2 && Date.now() < until) {
        const pending = (await redis.xpending(meshKey(), GROUP, '-', '+', 1_000, victimConsumer)) as [string, string, number, number][];
        if (pending.length === 0) {
          // Polled between two batches of the victim: a slow check here (listing runs over HTTP) let whole windows
          // pass unseen once batches got faster.
          if (await backlogDone()) break;
          continue;
        }
        victim.child.kill('SIGSTOP');
        const held = (await redis.xpending(meshKey(), GROUP, '-', '+', 1_000, victimConsumer)) as [string, string, number, number][];
        const heldMessages = new Set<string>();
        for (const [id] of held) {
          const [entry] = await redis.xrange(meshKey(), id, id);
          const data = entry?.[1][1];
          if (data) heldMessages.add((JSON.parse(data) as { id: string }).id);
        }
        // One cheap look while it is frozen: a slow one (every agent's runs) kept it stopped past the claim idle time.
        const runs = (await recentRuns()).filter((run) => run.source === 'mesh');
        committedButPending = runs.filter((run) => heldMessages.has(messageIdOf(run))).length;
        heldByVictim = held.length;
        if (committedButPending < 2) {
          victim.child.kill('SIGCONT');
          // Caught before its commit (or after its ack): let it run on for a random moment, so the next stop samples
          // another point of its batch instead of freezing it again at once where it was.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
        }
      }
    }
    // At least two: the victim died inside a batch, not in a one-by-one redelivery.
    expect(committedButPending).toBeGreaterThanOrEqual(2);
    victim.child.kill('SIGKILL');
    await victim.exited;

    const runs = await waitFor(
      async () => {
        const all = await meshRuns(targets);
        return all.length >= sent && all.every((run) => run.status === 'completed') ? all : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${sent} completed mesh runs` },
    );
    process.stdout.write(`killed holding ${heldByVictim} entries, ${committedButPending} of them with committed runs\n`);
    // Exactly one run per accepted message: none lost, none twice.
    const ids = runs.map(messageIdOf).sort();
    expect(ids).toEqual(Array.from({ length: sent }, (_, n) => `c-${n}`).sort());
    expect(new Set(runs.map((run) => run.id)).size).toBe(sent);
    await waitFor(async () => Number((await redis.xpending(meshKey(), GROUP))[0]) === 0 || undefined, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'no entry left pending',
    });
  }, 240_000);
});
