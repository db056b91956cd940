import { runEventId } from '@skreaver/contracts';
import type { Agent, Run, RunEventV1 } from '@skreaver/contracts';
import { AgentRunSlots } from '@skreaver/messaging';
import type { RunEventLog } from '@skreaver/messaging';
import type { RunQueue } from '@skreaver/runs';
import type { AgentRepository, RunRepository } from '@skreaver/persistence';
import { RunCancellation, RunExecutor, threadRunSlots } from '@skreaver/runs';
import { DATABASE_KINDS, waitFor } from '@skreaver/testing';
import type { IsolatedRedis } from '@skreaver/testing';
import { newId } from '@skreaver/util';
import type { RedisClient } from '@skreaver/messaging';
import type { DataSource } from 'typeorm';

import { RunReconcilerService } from '../src/runs/run-reconciler.service';
import { startCoordinator } from './coordinator.harness';
import type { CoordinatorHarness } from './coordinator.harness';

const MAX_ATTEMPTS = 3;
// Runs the tests make look an hour old, so the reconciler's grace period never hides them.
const LONG_AGO = new Date(Date.now() - 3_600_000).toISOString();

// Runs that lost their job (BullMQ gave up while the database was down, Redis lost it, their creator died between
// the row and the job) and slots held by runs that ended: one reconciler pass puts each back on its way, against a
// running coordinator, real Redis and both databases.
describe.each(DATABASE_KINDS)('run reconciler on %s', (kind) => {
  let harness: CoordinatorHarness;
  let dataSource: DataSource;
  let redis: RedisClient;
  let redisIsolation: IsolatedRedis;
  let queue: RunQueue;
  let eventLog: RunEventLog;
  let slots: AgentRunSlots;
  let agents: AgentRepository;
  let runs: RunRepository;
  let reconciler: RunReconcilerService;

  beforeAll(async () => {
    harness = await startCoordinator(kind, 'reconciler', {
      // The test runs each pass itself.
      env: { RUN_MAX_ATTEMPTS: String(MAX_ATTEMPTS), RUN_RECONCILE_INTERVAL_MS: '3600000' },
      // `slow` takes 300 ms: time for a cancellation to land.
      echoSlowMs: 300,
    });
    ({ dataSource, redis, redisIsolation, queue, eventLog, agents, runs } = harness);
    reconciler = harness.app.get(RunReconcilerService);
    slots = new AgentRunSlots(redis, redisIsolation.prefix);
  });

  afterAll(async () => {
    await harness?.cleanup();
  });

  async function newAgent(mode: 'ok' | 'flaky' | 'slow' = 'ok'): Promise<Agent> {
    return agents.insert({
      id: newId(),
      tenant_id: 'default',
      name: 'reconcile-test',
      kind: 'echo',
      config: { mode },
      concurrency: { policy: 'enqueue', max_concurrency: 1 },
      status: 'idle',
      created_at: LONG_AGO,
      updated_at: LONG_AGO,
      last_activity: null,
    });
  }

  /** A run row as agent-api stores it, with its run.queued event; no slot and no job unless the test adds them. */
  async function storedRun(agent: Agent, changes: Partial<Run> = {}): Promise<Run> {
    const run = await runs.insert({
      id: newId(),
      tenant_id: 'default',
      agent_id: agent.id,
      status: 'queued',
      source: 'api',
      input: { n: 1 },
      output: null,
      error: null,
      attempts: 0,
      idempotency_key: null,
      usage: null,
      thread_id: null,
      created_at: LONG_AGO,
      started_at: null,
      finished_at: null,
      pending_inputs: [],
      ...changes,
    });
    await eventLog.append({ id: runEventId(run.id, 1), run_id: run.id, agent_id: agent.id, tenant_id: 'default', seq: 1, ts: LONG_AGO, type: 'run.queued', data: { input: run.input } });
    return run;
  }

  async function pass() {
    await redis.del(`${redisIsolation.prefix}:runs:reconciler-turn`);
    const report = await reconciler.pass();
    if (!report) throw new Error('the pass did not run');
    return report;
  }

  const finished = (runId: string) =>
    waitFor(
      async () => {
        const run = await runs.findById('default', runId);
        return run && ['completed', 'failed', 'cancelled'].includes(run.status) ? run : undefined;
      },
      { timeoutMs: 15_000, what: `run ${runId} to finish` },
    );
  // A run's slot is given back just after its outcome is stored.
  const slotsFree = (agent: Agent) =>
    waitFor(
      async () => {
        const depth = await slots.depth(agent.id);
        return depth.active === 0 && depth.pending === 0;
      },
      { what: `${agent.id}'s slots to be free` },
    );
  const types = (events: RunEventV1[]) => events.map((event) => event.type);
  const log = (runId: string) => eventLog.read(runId, { limit: 100 });
  // A finished run's outcome is committed with its archived events first, then appended to its Redis log.
  const loggedThrough = (runId: string, type: RunEventV1['type']) =>
    waitFor(
      async () => {
        const events = await log(runId);
        return events.at(-1)?.type === type ? events : undefined;
      },
      { what: `${type} in run ${runId}'s log` },
    );

  it('should put a running run whose job is gone back on the queue, log its lost attempt and complete it', async () => {
    const agent = await newAgent();
    // Its worker marked it running as attempt 1 and died; the job is gone (BullMQ gave up, or Redis lost it).
    const run = await storedRun(agent, { status: 'running', attempts: 1, started_at: LONG_AGO });
    await slots.admit(agent.id, run.id, 1, 'queue');

    const report = await pass();

    expect(report).toMatchObject({ requeued: 1, abandoned: 0 });
    expect(await finished(run.id)).toMatchObject({ status: 'completed', attempts: 2, output: { n: 1 } });
    const events = await loggedThrough(run.id, 'run.completed');
    expect(types(events)).toEqual(['run.queued', 'run.started', 'run.started', 'run.completed']);
    expect(events[1]?.data).toEqual({ attempt: 1, worker: 'unknown' });
    await slotsFree(agent);
  });

  it('should give a run whose job failed for good while its outcome could not be stored the attempts it has left', async () => {
    const agent = await newAgent('flaky');
    const run = await storedRun(agent);
    await slots.admit(agent.id, run.id, 1, 'queue');
    // One attempt in all: the flaky first attempt fails the job for good.
    // The worker's 'failed' handler then ends the run if still open (a no-op here): it must be done before the run is
    // reopened below, which a loaded machine otherwise lets it end again.
    const abandon = jest.spyOn(harness.app.get(RunExecutor), 'abandon');
    await queue.add({ run_id: run.id, agent_id: agent.id, tenant_id: 'default' }, { jobId: run.id, attempts: 1 });
    await finished(run.id);
    await waitFor(async () => (await queue.standing(run.id)) === 'failed', { what: 'the job to fail' });
    await waitFor(() => abandon.mock.results.length > 0, { what: "the worker's failed handler" });
    await abandon.mock.results[0]?.value;
    abandon.mockRestore();
    // As if the database had been down when the failure was to be stored: the run stays open, its job is failed.
    await dataSource.query(`UPDATE runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = '${run.id}'`);
    await slots.admit(agent.id, run.id, 1, 'queue');

    const report = await pass();

    expect(report).toMatchObject({ requeued: 1 });
    expect(await finished(run.id)).toMatchObject({ status: 'completed', attempts: 2 });
    await slotsFree(agent);
  });

  it('should fail a running run whose job is gone after its last attempt as worker_lost and free its slot', async () => {
    const agent = await newAgent();
    const run = await storedRun(agent, { status: 'running', attempts: MAX_ATTEMPTS, started_at: LONG_AGO });
    await slots.admit(agent.id, run.id, 1, 'queue');

    const report = await pass();

    expect(report).toMatchObject({ abandoned: 1, requeued: 0 });
    expect(await runs.findById('default', run.id)).toMatchObject({ status: 'failed', error: { code: 'worker_lost' } });
    expect(types(await log(run.id))).toEqual(['run.queued', 'run.started', 'run.failed']);
    await slotsFree(agent);
  });

  it('should admit and run a queued run that has neither a slot nor a job, and leave one waiting its turn alone', async () => {
    const agent = await newAgent('slow');
    const orphan = await storedRun(agent);
    const waiting = await storedRun(agent);
    // The second waits in line behind the first once the first is admitted again.
    const report = await pass();
    expect(report).toMatchObject({ readmitted: 2, requeued: 1 });

    expect(await finished(orphan.id)).toMatchObject({ status: 'completed' });
    expect(await finished(waiting.id)).toMatchObject({ status: 'completed' });
    await slotsFree(agent);
  });

  it('should leave a thread run waiting for its thread\'s turn alone, and run it once the run before it has ended', async () => {
    const agent = await newAgent('slow');
    const threadId = newId();
    const threadSlots = threadRunSlots(redis, redisIsolation.prefix);
    const first = await storedRun(agent, { thread_id: threadId });
    const second = await storedRun(agent, { thread_id: threadId });
    expect(await threadSlots.admit(threadId, first.id, 'enqueue')).toEqual({ outcome: 'start' });
    expect(await threadSlots.admit(threadId, second.id, 'enqueue')).toMatchObject({ outcome: 'queued' });

    // The first lost its agent slot and its job; the second never had either: it waits behind the first.
    const report = await pass();
    expect(report).toMatchObject({ readmitted: 1, requeued: 1 });

    const [one, two] = [await finished(first.id), await finished(second.id)];
    expect(one).toMatchObject({ status: 'completed' });
    expect(two).toMatchObject({ status: 'completed' });
    expect((two.started_at ?? '') >= (one.finished_at ?? 'z')).toBe(true);
    await slotsFree(agent);
    // The settle gives back the agent's slot first and the thread's turn right after it (RunDispatcher.release).
    await waitFor(async () => (await threadSlots.active(threadId)).length === 0 || undefined, { what: `thread ${threadId}'s turn to be given back` });
  });

  it('should release a slot held by a run that ended and start the run waiting for it', async () => {
    const agent = await newAgent();
    const ended = await storedRun(agent, { status: 'completed', output: { n: 1 }, attempts: 1, finished_at: LONG_AGO });
    const next = await storedRun(agent);
    await slots.admit(agent.id, ended.id, 1, 'queue');
    expect(await slots.admit(agent.id, next.id, 1, 'queue')).toMatchObject({ outcome: 'queued' });

    const report = await pass();

    expect(report.released).toBeGreaterThanOrEqual(1);
    expect(await finished(next.id)).toMatchObject({ status: 'completed' });
    await slotsFree(agent);
  });

  it('should honour a cancellation requested while the run had no job', async () => {
    const agent = await newAgent();
    const run = await storedRun(agent, { status: 'running', attempts: 1, started_at: LONG_AGO });
    await slots.admit(agent.id, run.id, 1, 'queue');
    await new RunCancellation(redis, redisIsolation.prefix).request(run.id, 'no longer needed');

    await pass();

    expect(await finished(run.id)).toMatchObject({ status: 'cancelled', error: { message: 'no longer needed' } });
    await loggedThrough(run.id, 'run.cancelled');
    await slotsFree(agent);
  });

  it('should leave a run waiting for input without a job, and free the slot a crash left it holding', async () => {
    const agent = await newAgent();
    const pending = [{ id: 'input_1', kind: 'input' as const, prompt: 'Which city?', expires_at: '2099-01-01T00:00:00.000Z' }];
    const waiting = await storedRun(agent, { status: 'waiting_input', attempts: 0, started_at: LONG_AGO, pending_inputs: pending });
    const next = await storedRun(agent);
    await slots.admit(agent.id, waiting.id, 1, 'queue');
    expect(await slots.admit(agent.id, next.id, 1, 'queue')).toMatchObject({ outcome: 'queued' });

    const report = await pass();

    expect(report).toMatchObject({ requeued: 0, abandoned: 0, released: 1 });
    expect(await finished(next.id)).toMatchObject({ status: 'completed' });
    expect(await runs.findById('default', waiting.id)).toMatchObject({ status: 'waiting_input', pending_inputs: pending });
    expect(await queue.standing(waiting.id)).toBe('missing');
  });

  it('should leave runs whose job is pending or active alone', async () => {
    const agent = await newAgent('slow');
    const run = await storedRun(agent);
    await slots.admit(agent.id, run.id, 1, 'queue');
    await queue.add({ run_id: run.id, agent_id: agent.id, tenant_id: 'default' }, { jobId: run.id, attempts: MAX_ATTEMPTS });

    const report = await pass();

    expect(report).toMatchObject({ requeued: 0, readmitted: 0, abandoned: 0 });
    expect(await finished(run.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });
});
