import { runEventId } from '@skreaver/contracts';
import type { Agent, JsonValue, Run, RunEventV1 } from '@skreaver/contracts';
import type { RunEventLog } from '@skreaver/messaging';
import type { RunQueue } from '@skreaver/runs';
import { RunStepRepository } from '@skreaver/persistence';
import type { AgentRepository, RunRepository } from '@skreaver/persistence';
import { countingServer, DATABASE_KINDS, waitFor } from '@skreaver/testing';
import type { CountingServer } from '@skreaver/testing';
import { newId, nowIso } from '@skreaver/util';

import { startCoordinator } from './coordinator.harness';
import type { CoordinatorHarness } from './coordinator.harness';

// Durable steps against a running coordinator, real Redis and both databases: a tool agent whose steps call a local
// server that counts requests. A retried attempt and a job delivered again after its worker died replay the steps
// the run's journal holds (the server does not see them again) and execute the rest.
describe.each(DATABASE_KINDS)('durable steps on %s', (kind) => {
  let harness: CoordinatorHarness;
  let server: CountingServer;
  let queue: RunQueue;
  let eventLog: RunEventLog;
  let agents: AgentRepository;
  let runs: RunRepository;
  let steps: RunStepRepository;

  beforeAll(async () => {
    // The first request to /slow of each run takes longer than its step's timeout: a retryable failure.
    server = await countingServer((request, nth) => (request.path.startsWith('/slow') && nth === 1 ? { delayMs: 3_000 } : undefined));
    harness = await startCoordinator(kind, 'durable-steps', { env: { RUN_MAX_ATTEMPTS: '3', SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS: 'true' } });
    ({ queue, eventLog, agents, runs } = harness);
    steps = new RunStepRepository(harness.dataSource);
  });

  afterAll(async () => {
    await harness?.cleanup();
    await server?.close();
  });

  const post = (path: string, extra: Record<string, JsonValue> = {}) => ({ tool: 'http_request', input: { url: `${server.url}${path}`, method: 'POST', ...extra } });

  /** A tool agent and a queued run of it, as agent-api leaves them (the job is added by the test). */
  async function storedRun(config: JsonValue, changes: Partial<Run> = {}): Promise<Run> {
    const now = nowIso();
    const agent: Agent = {
      id: newId(),
      tenant_id: 'default',
      name: 'durable',
      kind: 'tool',
      config: config as Agent['config'],
      concurrency: { policy: 'enqueue', max_concurrency: 1 },
      status: 'idle',
      created_at: now,
      updated_at: now,
      last_activity: null,
    };
    await agents.insert(agent);
    const run = await runs.insert({
      id: newId(),
      tenant_id: 'default',
      agent_id: agent.id,
      status: 'queued',
      source: 'api',
      input: null,
      output: null,
      error: null,
      attempts: 0,
      idempotency_key: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      usage: null,
      thread_id: null,
      ...changes,
    });
    await eventLog.append({ id: runEventId(run.id, 1), run_id: run.id, agent_id: agent.id, tenant_id: 'default', seq: 1, ts: now, type: 'run.queued', data: { input: null } });
    return run;
  }

  const enqueue = (run: Run) => queue.add({ run_id: run.id, agent_id: run.agent_id, tenant_id: 'default' }, { jobId: run.id, attempts: 3 });

  const finished = (runId: string) =>
    waitFor(
      async () => {
        const run = await runs.findById('default', runId);
        return run && ['completed', 'failed'].includes(run.status) ? run : undefined;
      },
      { timeoutMs: 30_000, what: `run ${runId} to finish` },
    );

  const loggedOutcome = (runId: string) =>
    waitFor(
      async () => {
        const events = await eventLog.read(runId, { limit: 100 });
        const last = events.at(-1);
        return last?.type === 'run.completed' || (last?.type === 'run.failed' && last.data.final) ? events : undefined;
      },
      { what: `the outcome in the log of run ${runId}` },
    );

  it('should replay the steps a failed attempt journaled and call only the failed one again', async () => {
    const tag = newId();
    const run = await storedRun({
      steps: [post(`/a-${tag}`), post(`/b-${tag}`), post(`/slow-${tag}`, { timeout_ms: 300 }), post(`/d-${tag}`)],
      output: ['{{steps.0.result.body.nth}}', '{{steps.1.result.body.nth}}', '{{steps.2.result.body.nth}}', '{{steps.3.result.body.nth}}'],
    });
    await enqueue(run);

    expect(await finished(run.id)).toMatchObject({ status: 'completed', attempts: 2, output: [1, 1, 2, 1] });
    // Each step whose result was journaled reached the server once; the one that timed out (not journaled) twice,
    // with the same Idempotency-Key both times.
    expect([`/a-${tag}`, `/b-${tag}`, `/slow-${tag}`, `/d-${tag}`].map((path) => server.to(path).map((request) => request.idempotencyKey))).toEqual([
      [`${run.id}:1`],
      [`${run.id}:2`],
      [`${run.id}:3`, `${run.id}:3`],
      [`${run.id}:4`],
    ]);
    expect((await steps.list(run.id)).map((step) => [step.ordinal, step.kind, step.name, step.ok])).toEqual([
      [1, 'tool', 'http_request', true],
      [2, 'tool', 'http_request', true],
      [3, 'tool', 'http_request', true],
      [4, 'tool', 'http_request', true],
    ]);
    const log = await loggedOutcome(run.id);
    const results = log.filter((event): event is Extract<RunEventV1, { type: 'tool.result' }> => event.type === 'tool.result');
    expect(results.map((event) => [event.data.attempt, event.data.ok, event.data.replayed ?? false])).toEqual([
      [1, true, false],
      [1, true, false],
      [1, false, false],
      [2, true, true],
      [2, true, true],
      [2, true, false],
      [2, true, false],
    ]);
  });

  it('should replay what a worker that died mid-run journaled when its job is delivered again', async () => {
    const tag = newId();
    // A worker started attempt 1, journaled two steps (answers the server would never give) and died.
    const run = await storedRun(
      {
        steps: [post(`/a-${tag}`), post(`/b-${tag}`), post(`/c-${tag}`)],
        output: ['{{steps.0.result.body.nth}}', '{{steps.1.result.body.nth}}', '{{steps.2.result.body.nth}}'],
      },
      { status: 'running', attempts: 1, started_at: nowIso() },
    );
    for (const ordinal of [1, 2]) {
      await steps.record({
        run_id: run.id,
        ordinal,
        kind: 'tool',
        name: 'http_request',
        ok: true,
        result: { status: 200, ok: true, url: server.url, redirects: 0, headers: {}, body: { nth: 40 + ordinal } },
        created_at: nowIso(),
      });
    }
    await enqueue(run);

    expect(await finished(run.id)).toMatchObject({ status: 'completed', attempts: 2, output: [41, 42, 1] });
    expect(server.to(`/a-${tag}`)).toEqual([]);
    expect(server.to(`/b-${tag}`)).toEqual([]);
    expect(server.to(`/c-${tag}`).map((request) => request.idempotencyKey)).toEqual([`${run.id}:3`]);
  });

  it('should fail a run for good with nondeterministic_replay when its steps no longer match its journal', async () => {
    const tag = newId();
    const run = await storedRun({ steps: [post(`/a-${tag}`)] }, { status: 'running', attempts: 1, started_at: nowIso() });
    await steps.record({ run_id: run.id, ordinal: 1, kind: 'tool', name: 'math', ok: true, result: { value: 2 }, created_at: nowIso() });
    await enqueue(run);

    expect(await finished(run.id)).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'nondeterministic_replay' } });
    expect(server.to(`/a-${tag}`)).toEqual([]);
  });
});
