import { Streams, runEventId, streamKey } from '@skreaver/contracts';
import type { Agent, Run, RunEventV1 } from '@skreaver/contracts';
import type { RunEventLog } from '@skreaver/messaging';
import type { RunQueue } from '@skreaver/runs';
import { AgentMemoryRepository } from '@skreaver/persistence';
import type { AgentRepository, RunEventArchive, RunRepository } from '@skreaver/persistence';
import { DATABASE_KINDS, waitFor } from '@skreaver/testing';
import type { IsolatedRedis } from '@skreaver/testing';
import { newId, nowIso } from '@skreaver/util';
import type { RedisClient } from '@skreaver/messaging';
import { register } from 'prom-client';
import type { DataSource } from 'typeorm';

import { startCoordinator } from './coordinator.harness';
import type { CoordinatorHarness } from './coordinator.harness';

// The echo of the harness: `mode: flaky` fails each run's first attempt, `slow` takes 700 ms (a run in flight during
// shutdown), any other mode violates its config schema (a permanent failure).
// Every database on the default run queue, and BullMQ's (`RUN_QUEUE=bullmq`, what earlier releases used) on SQLite.
const SETUPS = [...DATABASE_KINDS.map((kind) => [kind, 'streams'] as const), ['sqlite', 'bullmq'] as const];

describe.each(SETUPS)('mesh-coordinator run execution on %s, run queue %s', (kind, runQueue) => {
  let harness: CoordinatorHarness;
  let dataSource: DataSource;
  let redis: RedisClient;
  let redisIsolation: IsolatedRedis;
  let queue: RunQueue;
  let eventLog: RunEventLog;
  let agents: AgentRepository;
  let runs: RunRepository;
  let archive: RunEventArchive;

  beforeAll(async () => {
    harness = await startCoordinator(kind, 'coordinator', { echoSlowMs: 700, env: { RUN_QUEUE: runQueue } });
    ({ dataSource, redis, redisIsolation, queue, eventLog, agents, runs, archive } = harness);
  });

  afterAll(async () => {
    await harness?.cleanup();
  });

  /** An agent as agent-api stores it. */
  async function insertAgent(config: Record<string, unknown> = {}, kind = 'echo', concurrency: Agent['concurrency'] = { policy: 'enqueue', max_concurrency: 1 }): Promise<Agent> {
    const now = nowIso();
    const agent: Agent = {
      id: newId(),
      tenant_id: 'default',
      name: 'worker-test',
      kind,
      config: config as Agent['config'],
      concurrency,
      status: 'idle',
      created_at: now,
      updated_at: now,
      last_activity: null,
    };
    await agents.insert(agent);
    return agent;
  }

  /** What agent-api does for POST /agents/{id}/runs (of a new agent, unless `of` names one). */
  async function submitRun(config: Record<string, unknown> = {}, kind = 'echo', of?: Agent): Promise<Run> {
    const now = nowIso();
    const agent = of ?? (await insertAgent(config, kind));
    const run: Run = {
      id: newId(),
      tenant_id: 'default',
      agent_id: agent.id,
      status: 'queued',
      source: 'api',
      input: { hello: 'world' },
      output: null,
      error: null,
      attempts: 0,
      idempotency_key: null,
      usage: null,
      thread_id: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      pending_inputs: [],
    };
    await runs.insert(run);
    await eventLog.append({ id: runEventId(run.id, 1), run_id: run.id, agent_id: agent.id, tenant_id: 'default', seq: 1, ts: now, type: 'run.queued', data: { input: run.input } });
    await queue.add({ run_id: run.id, agent_id: agent.id, tenant_id: 'default' }, { jobId: run.id, attempts: 3 });
    return run;
  }

  const finished = (runId: string) =>
    waitFor(
      async () => {
        const run = await runs.findById('default', runId);
        return run && ['completed', 'failed'].includes(run.status) ? run : undefined;
      },
      { timeoutMs: 15_000, what: `run ${runId} to finish` },
    );

  const types = (events: RunEventV1[]) => events.map((e) => `${e.seq}:${e.type}`);

  // The executor stores a run's outcome before it logs it: wait for the log to end with the outcome.
  const loggedOutcome = (runId: string) =>
    waitFor(
      async () => {
        const events = await eventLog.read(runId, { limit: 100 });
        const last = events.at(-1);
        return last?.type === 'run.completed' || (last?.type === 'run.failed' && last.data.final) ? events : undefined;
      },
      { what: `the outcome in the log of run ${runId}` },
    );

  // On PostgreSQL each run's end and its agent's settle are two transactions, and the settles of runs ending
  // together share one: whatever the interleaving, the last settle must see every run ended.
  it('should leave an agent idle once many of its runs have ended together, its last activity the latest end', async () => {
    const agent = await insertAgent({}, 'echo', { policy: 'parallel', max_concurrency: 24 });
    const submitted = await Promise.all(Array.from({ length: 24 }, () => submitRun({}, 'echo', agent)));
    const ended = await Promise.all(submitted.map((run) => finished(run.id)));
    const latest = ended.map((run) => run.finished_at ?? '').sort().at(-1);

    expect(ended.every((run) => run.status === 'completed')).toBe(true);
    await waitFor(
      async () => {
        const settled = await agents.findById('default', agent.id);
        return settled?.status === 'idle' && settled.last_activity === latest ? settled : undefined;
      },
      { what: `agent ${agent.id} idle as of ${latest}` },
    );
  });

  it('should run an echo agent, store its output, log and archive its events', async () => {
    const submitted = await submitRun();
    const run = await finished(submitted.id);
    expect(run).toMatchObject({ status: 'completed', output: { hello: 'world' }, attempts: 1, error: null });
    expect(run.started_at).not.toBeNull();

    const logged = await loggedOutcome(run.id);
    expect(types(logged)).toEqual(['1:run.queued', '2:run.started', '3:run.completed']);
    expect(logged[1]?.data).toEqual({ attempt: 1, worker: 'test-worker' });
    await waitFor(async () => (await archive.list('default', run.id, { limit: 100 })).length === 3, { what: 'the archive' });
    // Archived, so the Redis copy is on its way out.
    const ttl = await waitFor(async () => {
      const seconds = await redis.ttl(streamKey(Streams.runEvents, redisIsolation.prefix, run.id));
      return seconds > 0 ? seconds : undefined;
    }, { what: 'the run log TTL' });
    expect(ttl).toBeLessThanOrEqual(86_400);

    const agent = await agents.findById('default', run.agent_id);
    expect(agent).toMatchObject({ status: 'idle', last_activity: expect.any(String) });
  });

  it('should retry a failed attempt and record every attempt in the log', async () => {
    const submitted = await submitRun({ mode: 'flaky' });
    const run = await finished(submitted.id);
    expect(run).toMatchObject({ status: 'completed', attempts: 2 });
    const logged = await loggedOutcome(run.id);
    expect(types(logged)).toEqual(['1:run.queued', '2:run.started', '3:run.failed', '4:run.started', '5:run.completed']);
    expect(logged[2]?.data).toMatchObject({ attempt: 1, final: false, message: 'first attempt always fails' });
  });

  it('should fail a run for good, without retries, when the agent config is invalid', async () => {
    const submitted = await submitRun({ mode: 'bogus' });
    const run = await finished(submitted.id);
    expect(run).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'invalid_agent_config' } });
    const logged = await loggedOutcome(run.id);
    expect(types(logged)).toEqual(['1:run.queued', '2:run.started', '3:run.failed']);
    expect(logged[2]?.data).toMatchObject({ final: true });
    // The executor marks the agent after storing and logging the outcome: a loaded machine reads in between.
    await waitFor(async () => (await agents.findById('default', run.agent_id))?.status === 'error', { what: "the agent's error status" });
  });

  it('should not rerun a run that is already finished when its job is delivered again', async () => {
    const submitted = await submitRun();
    await finished(submitted.id);
    // A second job for the same run (e.g. redelivered after a crash): the run must not execute twice.
    const again = `${submitted.id}-again`;
    await queue.add({ run_id: submitted.id, agent_id: submitted.agent_id, tenant_id: 'default' }, { jobId: again, attempts: 3 });
    await waitFor(async () => (await queue.standing(again)) === 'completed', { what: 'the duplicate job' });
    const logged = await eventLog.read(submitted.id, { limit: 100 });
    expect(types(logged)).toEqual(['1:run.queued', '2:run.started', '3:run.completed']);
  });

  it('should run a tool agent: log its tool calls, write its memory to the database, count its tools', async () => {
    const steps = [
      { tool: 'memory_put', input: { key: 'greeting', value: { text: 'hello' } } },
      { tool: 'memory_get', input: { key: 'greeting' } },
      { tool: 'math', input: { expression: '6 * 7' } },
    ];
    const submitted = await submitRun({ steps, output: { remembered: '{{steps.1.result.value.text}}', answer: '{{steps.2.result.value}}' } }, 'tool');
    const run = await finished(submitted.id);

    expect(run).toMatchObject({ status: 'completed', output: { remembered: 'hello', answer: 42 } });
    const logged = await loggedOutcome(run.id);
    expect(logged.map((event) => event.seq)).toEqual(logged.map((_event, index) => index + 1));
    expect(logged.filter((event) => event.type === 'tool.result').map((event) => event.type === 'tool.result' && [event.data.tool, event.data.ok])).toEqual([
      ['memory_put', true],
      ['memory_get', true],
      ['math', true],
    ]);
    const entry = await new AgentMemoryRepository(dataSource).get('default', run.agent_id, 'greeting');
    expect(entry).toMatchObject({ key: 'greeting', value: { text: 'hello' }, expires_at: null });
    expect(await register.getSingleMetricAsString('skreaver_tool_exec_total')).toContain('skreaver_tool_exec_total{tool="memory_put",status="ok"}');
    expect(await register.getSingleMetricAsString('skreaver_tool_exec_duration_seconds')).toContain('tool="math"');
  });

  it('should fail a run past its timeout for good, without a retry', async () => {
    const submitted = await submitRun({ mode: 'slow', limits: { timeout_ms: 100 } });
    const run = await finished(submitted.id);

    expect(run).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'run_timeout' } });
    expect(types(await loggedOutcome(run.id))).toEqual(['1:run.queued', '2:run.started', '3:run.failed']);
  });

  it('should report the run queue depth by state when scraped', async () => {
    const text = await register.getSingleMetricAsString('skreaver_queue_depth');

    expect(text).toMatch(/skreaver_queue_depth\{queue="runs\.v1",state="completed"\} [1-9]/);
    expect(text).toContain('skreaver_queue_depth{queue="runs.v1",state="waiting"}');
    expect(text).toMatch(/skreaver_queue_depth\{queue="runs\.v1",state="failed"\} [1-9]/);
  });

  it('should be ready once Redis, the migrated database and the worker are up', async () => {
    await harness.app.listen(0, '127.0.0.1');
    const address = harness.app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const ready = await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/ready`);
      return response.ok ? ((await response.json()) as { checks: Record<string, { status: string }> }) : undefined;
    }, { what: 'coordinator readiness' });
    expect(ready.checks).toMatchObject({ redis: { status: 'up' }, database: { status: 'up' }, run_worker: { status: 'up' } });
  });

  it('should finish the run in flight before shutting down', async () => {
    const submitted = await submitRun({ mode: 'slow' });
    await waitFor(async () => (await runs.findById('default', submitted.id))?.status === 'running', { what: 'the slow run to start' });
    await harness.closeApp();
    const run = await runs.findById('default', submitted.id);
    expect(run).toMatchObject({ status: 'completed', output: { hello: 'world' } });
    expect(types(await eventLog.read(submitted.id, { limit: 100 }))).toEqual(['1:run.queued', '2:run.started', '3:run.completed']);
  });
});
