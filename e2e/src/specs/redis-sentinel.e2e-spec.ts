import type { Agent } from '@skreaver/contracts';
import { privateRedisSentinel, waitFor } from '@skreaver/testing';
import type { PrivateRedisSentinel } from '@skreaver/testing';

import { call } from '../support/api-client';
import { lifecycleGaps, settledRuns, startRunLoad, statusCounts, unexpectedOutcomes } from '../support/run-load';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

// The three services on a Sentinel-managed Redis of their own (REDIS_URL=redis-sentinel://…: a primary, two replicas
// and three sentinels started from redis-server): runs flow through a planned SENTINEL FAILOVER, then the new primary
// is SIGKILLed mid-load and the sentinels promote the other replica; the services follow both, and no accepted run is
// lost.
describe('Redis Sentinel', () => {
  let sentinel: PrivateRedisSentinel;
  let stack: Stack;

  beforeAll(async () => {
    sentinel = await privateRedisSentinel({ downAfterMs: 1_000, replicas: 2 });
    stack = await startStack({
      redisUrl: sentinel.url,
      env: {
        // A job whose worker lost its lock in the failover is handed on within about two lock durations.
        RUN_LOCK_DURATION_MS: '2000',
        // Runs whose job the failover lost (acknowledged by the old primary, never replicated) are found and enqueued
        // again by the reconciler: often, and soon after they were created, for the test.
        RUN_RECONCILE_INTERVAL_MS: '1000',
        RUN_RECONCILE_GRACE_MS: '3000',
      },
    });
  }, 60_000);

  afterAll(async () => {
    try {
      await stack?.stop();
    } finally {
      await sentinel?.cleanup();
    }
  }, 30_000);

  it('should lose no accepted run across a planned SENTINEL FAILOVER and a SIGKILLed primary', async () => {
    const created = await call<Agent>(stack.api.url, 'POST', '/agents', {
      name: 'sentinel',
      kind: 'echo',
      config: { delay_ms: 50 },
      concurrency: { policy: 'parallel', max_concurrency: 100 },
    });
    expect(created.status).toBe(201);
    const formerPrimary = await sentinel.primaryPort();

    // About 20 runs a second: enough to be mid-flight at every moment, few enough to drain quickly on a loaded machine.
    const load = startRunLoad(stack, created.body.id, { senders: 2, pauseMs: 100 });
    const began = performance.now();
    const phases: string[] = [];
    const phase = (name: string) => phases.push(`${name} ${((performance.now() - began) / 1000).toFixed(1)} s`);
    const failovers: Array<{ how: string; startedAt: number; tookMs: number }> = [];
    const failOver = async (how: 'SIGKILL' | 'SENTINEL FAILOVER') => {
      const primary = await sentinel.primaryPort();
      const startedAt = performance.now();
      await (how === 'SIGKILL' ? sentinel.kill(primary) : sentinel.switchover());
      expect(await sentinel.waitForFailover(primary, 20_000)).not.toBe(primary);
      failovers.push({ how, startedAt, tookMs: performance.now() - startedAt });
      // The services found the new primary: runs are accepted again.
      await load.acceptMore(20, `load after the ${how} failover`, 20_000);
      return primary;
    };
    try {
      await load.acceptMore(20, 'load before the switchover', 15_000);
      // A planned switchover first: the old primary stays up (a master until the sentinels demote it, up to 10 s
      // later), and clients connected to it must move at once. Then a crash of the new primary, replaced by the other
      // replica.
      await failOver('SENTINEL FAILOVER');
      phase('switchover');
      // Every service connection left the old primary when the sentinels announced the switch (failoverDetector),
      // before they demote it (their next INFO, up to 10 s later): writes it took meanwhile would be dropped.
      await waitFor(async () => (await sentinel.clientsOn(formerPrimary)).length === 0, {
        timeoutMs: 5_000,
        what: 'every service connection off the old primary',
      });
      await sentinel.waitForReplica();
      phase('a replica in sync');
      await failOver('SIGKILL');
      phase('kill');
    } finally {
      await load.stop();
    }

    const runIds = load.accepted().map((o) => o.runId ?? '');
    const finalRuns = await settledRuns(stack, runIds, 30_000);
    phase('settled');
    const lost = runIds.length - finalRuns.length;
    const gaps = await lifecycleGaps(stack, finalRuns);
    const during = load.outcomes.filter((o) => failovers.some((f) => o.startedAt + o.tookMs >= f.startedAt && o.startedAt <= f.startedAt + f.tookMs));
    const byStatus = finalRuns.reduce<Record<string, number>>((counts, run) => ({ ...counts, [run.status]: (counts[run.status] ?? 0) + 1 }), {});
    process.stdout.write(
      `Redis Sentinel (first primary :${formerPrimary}): ${failovers.map((f) => `${f.how} (replica promoted after ${f.tookMs.toFixed(0)} ms)`).join(', then ')}. ` +
        `${load.outcomes.length} POSTs, ${runIds.length} accepted, slowest answer ${Math.max(...load.outcomes.map((o) => o.tookMs)).toFixed(0)} ms; ` +
        `during the failover: ${JSON.stringify(statusCounts(during))}; all: ${JSON.stringify(statusCounts(load.outcomes))}. ` +
        `Accepted runs lost: ${lost}; final statuses ${JSON.stringify(byStatus)}. Completed runs missing a lifecycle event: ` +
        `${gaps.runsMissingEvents}; with a duplicated event: ${gaps.runsWithDuplicates}. Phases: ${phases.join(', ')}.\n`,
    );

    expect(lost).toBe(0);
    expect(finalRuns.filter((run) => run.status !== 'completed')).toEqual([]);
    // A failover is a wait or a clean 503, never a 500 or a hang; no service crashed.
    expect(unexpectedOutcomes(load.outcomes)).toEqual([]);
    for (const service of stack.all()) {
      expect([service.name, service.child.exitCode, service.child.signalCode]).toEqual([service.name, null, null]);
    }
  }, 90_000);
});
