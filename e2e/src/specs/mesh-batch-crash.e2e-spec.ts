import type { Agent, Run } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import Redis from 'ioredis';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

const GROUP = 'mesh-delivery';
const MESSAGES = 1_200;
const AGENTS = 8;

// A coordinator delivers a read of mesh entries as one batch: their runs are committed in one transaction, then
// logged, admitted, enqueued, and only then acked. Killed between the commit and the ack, it leaves entries pending
// whose runs exist: the other coordinator reclaims them and must find those runs (their idempotency keys), not make
// second ones, and must not lose any message.
describe('mesh batch delivery when a coordinator is SIGKILLed between commit and ack', () => {
  let stack: Stack;
  let redis: Redis;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);
  const streamKey = () => `${stack.redis.prefix}:stream:mesh.messages.v1`;

  beforeAll(async () => {
    stack = await startStack({ coordinators: 2, env: { SKREAVER_MESH_CLAIM_IDLE_MS: '500', RUN_LOCK_DURATION_MS: '2000', SKREAVER_RATE_LIMIT_PER_SUBJECT: '0', SKREAVER_RATE_LIMIT_PER_IP: '0' } });
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

  const messageIdOf = (run: Run) => (run.input as { mesh: { message_id: string } }).mesh.message_id;

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
    // coordinators reading full batches for a while (over HTTP the batches would be small and quickly acked).
    const pipeline = redis.pipeline();
    for (let n = 0; n < MESSAGES; n += 1) {
      const target = targets[n % targets.length] as Agent;
      const envelope = { id: `c-${n}`, tenant_id: target.tenant_id, from: 'key:e2e', kind: 'n', payload: { n }, ts: new Date().toISOString(), to: target.id };
      pipeline.xadd(streamKey(), '*', 'data', JSON.stringify(envelope));
    }
    await pipeline.exec();

    // Freeze the victim while it holds entries whose runs are already committed (the window between the commit and
    // the XACK); a stop that caught it elsewhere is undone and tried again. Then it dies as a crash would.
    let committedButPending = 0;
    let heldByVictim = 0;
    for (let attempt = 0; committedButPending < 2 && attempt < 300; attempt++) {
      const pending = (await redis.xpending(streamKey(), GROUP, '-', '+', 1_000, victimConsumer)) as [string, string, number, number][];
      if (pending.length === 0) {
        if ((await meshRuns(targets)).length >= MESSAGES) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      victim.child.kill('SIGSTOP');
      const held = (await redis.xpending(streamKey(), GROUP, '-', '+', 1_000, victimConsumer)) as [string, string, number, number][];
      const heldMessages = new Set<string>();
      for (const [id] of held) {
        const [entry] = await redis.xrange(streamKey(), id, id);
        const data = entry?.[1][1];
        if (data) heldMessages.add((JSON.parse(data) as { id: string }).id);
      }
      const runs = await meshRuns(targets);
      committedButPending = runs.filter((run) => heldMessages.has(messageIdOf(run))).length;
      heldByVictim = held.length;
      if (committedButPending < 2) victim.child.kill('SIGCONT');
    }
    // At least two: the victim died inside a batch, not in a one-by-one redelivery.
    expect(committedButPending).toBeGreaterThanOrEqual(2);
    victim.child.kill('SIGKILL');
    await victim.exited;

    const runs = await waitFor(
      async () => {
        const all = await meshRuns(targets);
        return all.length >= MESSAGES && all.every((run) => run.status === 'completed') ? all : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${MESSAGES} completed mesh runs` },
    );
    process.stdout.write(`killed holding ${heldByVictim} entries, ${committedButPending} of them with committed runs\n`);
    // Exactly one run per accepted message: none lost, none twice.
    const ids = runs.map(messageIdOf).sort();
    expect(ids).toEqual(Array.from({ length: MESSAGES }, (_, n) => `c-${n}`).sort());
    expect(new Set(runs.map((run) => run.id)).size).toBe(MESSAGES);
    await waitFor(async () => Number((await redis.xpending(streamKey(), GROUP))[0]) === 0 || undefined, {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'no entry left pending',
    });
  }, 150_000);
});
