import { AgentFailure, AgentRegistry, AgentRunner, defineAgent } from '@skreaver/agent-runtime';
import type { AgentContext } from '@skreaver/agent-runtime';
import { RunEventV1, TERMINAL_RUN_STATUSES, runEventId } from '@skreaver/contracts';
import {
  FIXTURE_IDS,
  FakeRunCancellation,
  FakeRunDispatcher,
  InMemoryAgentRepository,
  InMemoryRunEventArchive,
  InMemoryRunEventLog,
  InMemoryRunRepository,
  InMemoryRunStepRepository,
  agentFixture,
  runFixture,
  waitFor,
} from '@skreaver/testing';
import type { Agent, JsonValue, Run, RunEventType, RunJobV1 } from '@skreaver/contracts';
import type { RunEventLog } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import type { AgentRepository, RunEventArchive, RunRepository, RunStepRepository } from '@skreaver/persistence';
import { defineConfig } from '@skreaver/config';
import { register } from 'prom-client';
import { z } from 'zod';

import type { RunJobAttempt } from '../in-process-run-queue';
import type { RunCancellation } from '../run-cancellation';
import type { RunDispatcher } from '../run-dispatcher';
import { runExecutionEnv } from './run-execution.config';
import { PermanentRunError, RunExecutor, WorkerStopping } from './run-executor';
import { RunMetrics } from './run-metrics';

const TENANT = FIXTURE_IDS.tenant;
const AGENT_ID = FIXTURE_IDS.agent;
const RUN_ID = FIXTURE_IDS.run;
const CREATED_AT = FIXTURE_IDS.createdAt;
const TTL_SECONDS = 600;

// ---------------------------------------------------------------- factories

const AgentFactory = { create: agentFixture };

const RunFactory = {
  create(overrides: Partial<Run> = {}): Run {
    return runFixture(overrides);
  },

  job(run: Run = RunFactory.create()): RunJobV1 {
    return { run_id: run.id, agent_id: run.agent_id, tenant_id: run.tenant_id };
  },
};

const EventFactory = {
  base(seq: number) {
    return { id: runEventId(RUN_ID, seq), run_id: RUN_ID, agent_id: AGENT_ID, tenant_id: TENANT, seq, ts: CREATED_AT };
  },
  queued(): RunEventV1 {
    return { ...EventFactory.base(1), type: 'run.queued', data: { input: { question: 'ping' } } };
  },
  started(seq: number, attempt: number): RunEventV1 {
    return { ...EventFactory.base(seq), type: 'run.started', data: { attempt, worker: 'worker-0' } };
  },
  failed(seq: number, attempt: number, final: boolean): RunEventV1 {
    return { ...EventFactory.base(seq), type: 'run.failed', data: { code: 'agent_error', message: 'earlier', attempt, final } };
  },
  completed(seq: number, output: JsonValue): RunEventV1 {
    return { ...EventFactory.base(seq), type: 'run.completed', data: { output, duration_ms: 5 } };
  },
  cancelled(seq: number, reason: string): RunEventV1 {
    return { ...EventFactory.base(seq), type: 'run.cancelled', data: { reason, by: 'api' } };
  },
};

// ---------------------------------------------------------------- in-memory collaborators (shared: @skreaver/testing)

/** The installed `echo` kind, scripted per test; its config schema rejects an out-of-range temperature. */
class ScriptedAgent {
  readonly contexts: AgentContext<unknown>[] = [];
  behaviour: (input: JsonValue, context: AgentContext<unknown>) => Promise<JsonValue> = async (input) => ({ echoed: input });
  readonly definition;

  constructor(journal: string[]) {
    this.definition = defineAgent<unknown>({
      kind: 'echo',
      description: 'scripted test agent',
      configSchema: z.object({ temperature: z.number().max(2).optional() }),
      run: (input, context) => {
        journal.push('agent.run');
        this.contexts.push(context);
        return this.behaviour(input, context);
      },
    });
  }
}

function newTestService(options: { installed?: boolean } = {}) {
  const journal: string[] = [];
  const lines: string[] = [];
  const mocks = {
    journal,
    lines,
    runs: new InMemoryRunRepository(journal),
    agents: new InMemoryAgentRepository(),
    archive: new InMemoryRunEventArchive(journal),
    eventLog: new InMemoryRunEventLog(journal),
    dispatcher: new FakeRunDispatcher(journal),
    cancellation: new FakeRunCancellation(journal),
    agent: new ScriptedAgent(journal),
    steps: new InMemoryRunStepRepository(journal),
  };
  mocks.runs.agents = mocks.agents;
  mocks.agents.runs = mocks.runs;
  const registry = new AgentRegistry(options.installed === false ? [] : [mocks.agent.definition]);
  const config = defineConfig(runExecutionEnv).load({ WORKER_ID: 'worker-1', RUN_EVENTS_TTL_SECONDS: String(TTL_SECONDS) });
  // The parts of the real collaborators the executor uses, which the shared fakes must match (checked here).
  const runs: Pick<RunRepository, 'findById' | 'markRunning' | 'markCompleted' | 'markFailed' | 'markCancelled' | 'setUsage'> = mocks.runs;
  const agents: Pick<AgentRepository, 'findById' | 'updateActivity' | 'settleActivity'> = mocks.agents;
  const archive: Pick<RunEventArchive, 'append'> = mocks.archive;
  const eventLog: Pick<RunEventLog, 'append' | 'read' | 'last' | 'expire'> = mocks.eventLog;
  const dispatcher: Pick<RunDispatcher, 'release'> = mocks.dispatcher;
  const cancellation: Pick<RunCancellation, 'requested'> = mocks.cancellation;
  const steps: Pick<RunStepRepository, 'list' | 'record'> = mocks.steps;
  const sut = new RunExecutor(
    runs as RunRepository,
    agents as AgentRepository,
    archive as RunEventArchive,
    eventLog as RunEventLog,
    new AgentRunner({ registry }),
    dispatcher as RunDispatcher,
    cancellation as RunCancellation,
    new RunMetrics(),
    new JsonLogger('skreaver_mesh_coordinator', 'trace', (line) => lines.push(line)),
    config,
    steps as RunStepRepository,
  );
  return { sut, mocks };
}

type TestMocks = ReturnType<typeof newTestService>['mocks'];

/** Seeds a queued run (with its run.queued event) and its agent, as agent-api leaves them. */
function seedQueuedRun(mocks: TestMocks, run: Run = RunFactory.create(), agent: Agent = AgentFactory.create()): Run {
  mocks.runs.seed(run);
  mocks.agents.seed(agent);
  mocks.eventLog.seed(EventFactory.queued());
  return run;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function types(events: RunEventV1[]): RunEventType[] {
  return events.map((event) => event.type);
}

async function metricLine(name: string, labels: string): Promise<string | undefined> {
  const text = await register.getSingleMetricAsString(name);
  return text.split('\n').find((line) => line.startsWith(`${name}{${labels}}`) || line.startsWith(`${name} `));
}

const signal = new AbortController().signal;
const FIRST_OF_THREE: RunJobAttempt = { number: 1, of: 3 };
const LAST_OF_THREE: RunJobAttempt = { number: 3, of: 3 };

// ---------------------------------------------------------------- specs

describe(RunExecutor.name, () => {
  let sut: RunExecutor;
  let mocks: TestMocks;

  beforeEach(() => {
    register.resetMetrics();
    ({ sut, mocks } = newTestService());
  });

  describe('a queued run whose agent succeeds', () => {
    let run: Run;

    beforeEach(async () => {
      run = seedQueuedRun(mocks);
      await sut.execute(RunFactory.job(run), FIRST_OF_THREE, signal);
    });

    it('should store the run as completed with the agent output', () => {
      expect(mocks.runs.stored(RUN_ID)).toEqual({
        ...run,
        status: 'completed',
        output: { echoed: { question: 'ping' } },
        attempts: 1,
        started_at: expect.stringMatching(/Z$/),
        finished_at: expect.stringMatching(/Z$/),
      });
    });

    it('should log run.started and run.completed with consecutive seqs after run.queued', () => {
      const events = mocks.eventLog.eventsOf(RUN_ID);

      expect(types(events)).toEqual(['run.queued', 'run.started', 'run.completed']);
      expect(events.map((event) => event.seq)).toEqual([1, 2, 3]);
      expect(events.map((event) => event.id)).toEqual([1, 2, 3].map((seq) => runEventId(RUN_ID, seq)));
      expect(events[1]?.data).toEqual({ attempt: 1, worker: 'worker-1' });
      expect(events[2]?.data).toEqual({ output: { echoed: { question: 'ping' } }, duration_ms: expect.any(Number) });
      expect(events.every((event) => event.tenant_id === TENANT && event.agent_id === AGENT_ID)).toBe(true);
    });

    // No `steps.list` (nor input answers): a run no attempt had started has journaled nothing and waited for no one.
    // The cancellation check goes out with run.started, and the slot's release with run.completed (one Redis round trip
    // each, by auto-pipelining), so each pair is issued together: the journal records them in the order they are called.
    it('should mark the run running before the agent runs, and store the result and archive the log before logging it', () => {
      expect(mocks.journal).toEqual([
        'runs.markRunning',
        'cancellation.requested',
        'eventLog.append run.started',
        'agent.run',
        'runs.markCompleted',
        'archive.append',
        'dispatcher.release',
        'eventLog.append run.completed',
      ]);
    });

    it("should release the agent's slot once the run has ended", () => {
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });

    it('should archive the whole log and let the Redis copy expire (set with run.completed)', () => {
      expect(mocks.archive.events).toEqual(mocks.eventLog.eventsOf(RUN_ID));
      expect(mocks.eventLog.ttls.get(RUN_ID)).toBe(TTL_SECONDS);
    });

    it('should set the agent running, then idle', () => {
      expect(mocks.agents.statuses).toEqual(['running', 'idle']);
    });

    it('should run the agent with the run and agent ids, the attempt and the config', () => {
      expect(mocks.agent.contexts).toHaveLength(1);
      expect(mocks.agent.contexts[0]).toMatchObject({ agentId: AGENT_ID, runId: RUN_ID, tenantId: TENANT, attempt: 1, config: {} });
    });

    it('should count a completed attempt and leave no attempt active', async () => {
      expect(await metricLine('skreaver_runs_total', 'kind="echo",status="completed"')).toMatch(/ 1$/);
      expect(await metricLine('skreaver_runs_active', '')).toBe('skreaver_runs_active 0');
    });
  });

  it('should not write running again for an agent that already says so (its other runs set it)', async () => {
    seedQueuedRun(mocks, RunFactory.create(), AgentFactory.create({ status: 'running' }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, new AbortController().signal);

    expect(mocks.agents.statuses).toEqual(['idle']);
  });

  it('should leave the agent running when its run completes while another of its runs is running', async () => {
    const agent = AgentFactory.create({ status: 'running' });
    seedQueuedRun(mocks, RunFactory.create(), agent);
    mocks.runs.seed(RunFactory.create({ id: '00000000-0000-4000-8000-00000000beef', status: 'running', attempts: 1, started_at: CREATED_AT }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, new AbortController().signal);

    expect(mocks.runs.stored(RUN_ID)?.status).toBe('completed');
    expect(mocks.agents.statuses).toEqual([]);
    expect(mocks.agents.rows.get(agent.id)?.status).toBe('running');
  });

  it('should continue the seqs after what earlier attempts logged', async () => {
    seedQueuedRun(mocks, RunFactory.create({ status: 'running', attempts: 1 }));
    mocks.eventLog.seed(EventFactory.started(2, 1), EventFactory.failed(3, 1, false));

    await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

    const events = mocks.eventLog.eventsOf(RUN_ID);
    expect(events.map((event) => [event.seq, event.type])).toEqual([
      [1, 'run.queued'],
      [2, 'run.started'],
      [3, 'run.failed'],
      [4, 'run.started'],
      [5, 'run.completed'],
    ]);
    expect(events[3]?.data).toEqual({ attempt: 2, worker: 'worker-1' });
    expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', attempts: 2 });
  });

  describe("the agent's activity", () => {
    beforeEach(async () => {
      seedQueuedRun(mocks);
      mocks.agent.behaviour = async (input, context) => {
        await context.emit({ type: 'step', name: 'plan' });
        const [a, b] = await Promise.all([context.tools.call('math', { expression: '1 + 1' }), context.emit({ type: 'output', output: 'partial' })]);
        return a.ok ? { input, sum: a.result, partial: b === undefined } : null;
      };
      await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);
    });

    it('should log steps, tool calls and partial outputs between run.started and run.completed with consecutive seqs', () => {
      const events = mocks.eventLog.eventsOf(RUN_ID);

      expect(events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(types(events)).toEqual(['run.queued', 'run.started', 'run.step', 'tool.call', 'run.output', 'tool.result', 'run.completed']);
      expect(events[2]?.data).toEqual({ attempt: 1, step: 1, name: 'plan' });
      expect(events[5]?.data).toMatchObject({ attempt: 1, tool: 'math', ok: true, result: { value: 2 }, duration_ms: expect.any(Number) });
      expect(events.at(-1)?.data).toMatchObject({ output: { input: { question: 'ping' }, sum: { value: 2 }, partial: true } });
    });

    it('should archive the activity with the rest of the log', () => {
      expect(mocks.archive.events).toEqual(mocks.eventLog.eventsOf(RUN_ID));
    });
  });

  describe("the agent's model calls and streamed text", () => {
    const used = (prompt: number, completion: number) => ({ type: 'model_call' as const, duration_ms: 3, ok: true, usage: { prompt_tokens: prompt, completion_tokens: completion } });

    it('should sum the tokens of every attempt on the run', async () => {
      seedQueuedRun(mocks);
      mocks.agent.behaviour = async (_input, context) => {
        await context.emit(used(10, 5));
        if (context.attempt === 1) throw new Error('flaky');
        await context.emit(used(1, 2));
        return 'done';
      };

      await rejectionOf(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal));
      expect(mocks.runs.stored(RUN_ID)?.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
      await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', usage: { prompt_tokens: 21, completion_tokens: 12, total_tokens: 33 } });
      // One write per model call, as it ends.
      expect(mocks.journal.filter((entry) => entry === 'runs.setUsage')).toHaveLength(3);
    });

    it('should store each model call\'s tokens as it ends, before the attempt does (a killed attempt\'s calls stay counted)', async () => {
      seedQueuedRun(mocks);
      let release: () => void = () => undefined;
      const blocked = new Promise<void>((resolve) => (release = resolve));
      mocks.agent.behaviour = async (_input, context) => {
        await context.emit(used(10, 5));
        await blocked;
        return 'done';
      };

      const executing = sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);
      await waitFor(() => mocks.runs.stored(RUN_ID)?.usage ?? undefined, { what: 'the usage to be stored' });
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'running', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
      release();
      await executing;

      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
    });

    it('should leave the usage of a run without model calls null and not write it', async () => {
      seedQueuedRun(mocks);

      await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

      expect(mocks.runs.stored(RUN_ID)?.usage).toBeNull();
      expect(mocks.journal).not.toContain('runs.setUsage');
    });

    it('should log streamed text as message.delta before the outcome, numbered after what earlier attempts logged', async () => {
      seedQueuedRun(mocks, RunFactory.create({ status: 'running', attempts: 1 }));
      mocks.eventLog.seed(EventFactory.started(2, 1), { ...EventFactory.base(3), type: 'message.delta', data: { attempt: 1, index: 0, text: 'Hal' } }, EventFactory.failed(4, 1, false));
      mocks.agent.behaviour = async (_input, context) => {
        await context.emit({ type: 'step', name: 'llm' });
        await context.emit({ type: 'delta', text: 'Hello' });
        await context.emit({ type: 'delta', text: ', world' });
        return 'Hello, world';
      };

      await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

      const events = mocks.eventLog.eventsOf(RUN_ID);
      expect(types(events).slice(4)).toEqual(['run.started', 'run.step', 'message.delta', 'run.completed']);
      expect(events[6]?.data).toEqual({ attempt: 2, step: 1, index: 1, text: 'Hello, world' });
    });
  });

  describe('when the agent exceeds one of its limits', () => {
    let error: unknown;

    beforeEach(async () => {
      seedQueuedRun(mocks, RunFactory.create(), AgentFactory.create({ config: { limits: { max_steps: 2 } } }));
      mocks.agent.behaviour = async (_input, context) => {
        for (;;) await context.emit({ type: 'step', name: 'again' });
      };
      error = await rejectionOf(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal));
    });

    it('should fail the run for good on the first attempt with the limit as its code', () => {
      expect(error).toBeInstanceOf(PermanentRunError);
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'failed', error: { code: 'max_steps_exceeded', message: expect.stringContaining('2 steps') } });
      expect(mocks.eventLog.eventsOf(RUN_ID).at(-1)).toMatchObject({ type: 'run.failed', data: { code: 'max_steps_exceeded', attempt: 1, final: true } });
    });

    it('should log the steps it took before the limit', () => {
      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started', 'run.step', 'run.step', 'run.failed']);
    });
  });

  it('should keep the code of a retryable agent failure and let the queue retry it', async () => {
    seedQueuedRun(mocks);
    const failure = new AgentFailure('webhook_unavailable', 'no delivery succeeded', false);
    mocks.agent.behaviour = () => Promise.reject(failure);

    expect(await rejectionOf(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal))).toBe(failure);
    expect(mocks.eventLog.eventsOf(RUN_ID).at(-1)).toMatchObject({ type: 'run.failed', data: { code: 'webhook_unavailable', final: false } });
  });

  it('should fail a permanent agent failure for good with its code', async () => {
    seedQueuedRun(mocks);
    mocks.agent.behaviour = () => Promise.reject(new AgentFailure('webhook_rejected', 'answered 422', true));

    expect(await rejectionOf(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal))).toBeInstanceOf(PermanentRunError);
    expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'failed', error: { code: 'webhook_rejected', message: 'answered 422' } });
  });

  it('should record a new attempt when a crashed worker left the run running (its job is redelivered as the same attempt)', async () => {
    seedQueuedRun(mocks, RunFactory.create({ status: 'running', attempts: 1 }));
    mocks.eventLog.seed(EventFactory.started(2, 1));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started', 'run.started', 'run.completed']);
    expect(mocks.eventLog.eventsOf(RUN_ID)[2]?.data).toEqual({ attempt: 2, worker: 'worker-1' });
    expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', attempts: 2 });
    expect(mocks.agent.contexts[0]?.attempt).toBe(2);
  });

  it('should read the journal of a run an earlier attempt started (only a never-started run skips it)', async () => {
    seedQueuedRun(mocks, RunFactory.create({ status: 'running', attempts: 1, started_at: '2026-01-01T00:00:00.000Z' }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    expect(mocks.journal).toContain('steps.list');
  });

  describe('when the agent throws on a non-final attempt', () => {
    const failure = new Error('model overloaded');
    let error: unknown;

    beforeEach(async () => {
      seedQueuedRun(mocks);
      mocks.agent.behaviour = () => Promise.reject(failure);
      error = await rejectionOf(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal));
    });

    it('should rethrow the agent error so the queue retries', () => {
      expect(error).toBe(failure);
    });

    it('should log run.failed with final false', () => {
      const events = mocks.eventLog.eventsOf(RUN_ID);

      expect(types(events)).toEqual(['run.queued', 'run.started', 'run.failed']);
      expect(events[2]).toMatchObject({
        seq: 3,
        data: { code: 'agent_error', message: 'model overloaded', attempt: 1, final: false },
      });
    });

    it('should leave the run open, unarchived and its log without a TTL', () => {
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'running', error: null, finished_at: null });
      expect(mocks.journal).not.toContain('runs.markFailed');
      expect(mocks.archive.events).toEqual([]);
      expect(mocks.eventLog.ttls.size).toBe(0);
    });

    it('should not set the agent to error', () => {
      expect(mocks.agents.statuses).toEqual(['running']);
    });

    it("should keep the agent's slot for the retry", () => {
      expect(mocks.dispatcher.released).toEqual([]);
    });

    it('should log a warning and count a retried attempt', async () => {
      expect(mocks.lines.map((line) => JSON.parse(line) as { level: string; fields: { message: string } })).toContainEqual(
        expect.objectContaining({ level: 'WARN', fields: expect.objectContaining({ message: 'Run attempt failed', final: false }) }),
      );
      expect(await metricLine('skreaver_runs_total', 'kind="echo",status="retried"')).toMatch(/ 1$/);
      expect(await metricLine('skreaver_runs_active', '')).toBe('skreaver_runs_active 0');
    });
  });

  describe('when the agent throws on the final attempt', () => {
    const failure = new Error('model overloaded');
    let error: unknown;

    beforeEach(async () => {
      seedQueuedRun(mocks, RunFactory.create({ status: 'running', attempts: 2 }));
      mocks.agent.behaviour = () => Promise.reject(failure);
      error = await rejectionOf(sut.execute(RunFactory.job(), LAST_OF_THREE, signal));
    });

    it('should rethrow the agent error', () => {
      expect(error).toBe(failure);
    });

    it('should fail the run with the agent error', () => {
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({
        status: 'failed',
        error: { code: 'agent_error', message: 'model overloaded' },
        attempts: 3,
        finished_at: expect.stringMatching(/Z$/),
      });
    });

    it('should log a final run.failed and archive the log', () => {
      const events = mocks.eventLog.eventsOf(RUN_ID);

      expect(events.at(-1)).toMatchObject({ type: 'run.failed', data: { attempt: 3, final: true } });
      expect(mocks.archive.events).toEqual(events);
      expect(mocks.eventLog.ttls.get(RUN_ID)).toBe(TTL_SECONDS);
    });

    it('should set the agent status to error', () => {
      expect(mocks.agents.statuses).toEqual(['running', 'error']);
    });

    it("should release the agent's slot as soon as the run has ended, before archiving", () => {
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
      expect(mocks.journal.slice(-3)).toEqual(['dispatcher.release', 'archive.append', 'eventLog.expire']);
    });

    it('should count a failed attempt', async () => {
      expect(await metricLine('skreaver_runs_total', 'kind="echo",status="failed"')).toMatch(/ 1$/);
    });
  });

  it('should report a thrown non-Error by its string form', async () => {
    seedQueuedRun(mocks);
    mocks.agent.behaviour = () => Promise.reject('quota exceeded');

    await expect(sut.execute(RunFactory.job(), { number: 1, of: 1 }, signal)).rejects.toBe('quota exceeded');
    expect(mocks.runs.stored(RUN_ID)?.error).toEqual({ code: 'agent_error', message: 'quota exceeded' });
  });

  describe("when the agent's config fails its kind's schema", () => {
    let error: unknown;

    beforeEach(async () => {
      seedQueuedRun(mocks, RunFactory.create(), AgentFactory.create({ config: { temperature: 9 } }));
      error = await rejectionOf(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal));
    });

    it('should throw a PermanentRunError so the queue does not retry', () => {
      expect(error).toBeInstanceOf(PermanentRunError);
      expect(error).toMatchObject({ name: 'PermanentRunError', message: expect.stringMatching(/^invalid echo config/) });
    });

    it('should never run the agent', () => {
      expect(mocks.agent.contexts).toEqual([]);
    });

    it('should fail the run for good on the first attempt', () => {
      expect(mocks.eventLog.eventsOf(RUN_ID).at(-1)).toMatchObject({
        type: 'run.failed',
        data: { code: 'invalid_agent_config', attempt: 1, final: true },
      });
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'failed', error: { code: 'invalid_agent_config' } });
      expect(mocks.agents.statuses).toEqual(['running', 'error']);
      expect(mocks.archive.events).toHaveLength(3);
    });

    it("should release the agent's slot", () => {
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });
  });

  it('should fail a run whose kind is not installed permanently', async () => {
    ({ sut, mocks } = newTestService({ installed: false }));
    seedQueuedRun(mocks);

    const error = await rejectionOf(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal));

    expect(error).toBeInstanceOf(PermanentRunError);
    expect(mocks.runs.stored(RUN_ID)).toMatchObject({
      status: 'failed',
      error: { code: 'invalid_agent_config', message: expect.stringContaining('no agent kind "echo" is installed') },
    });
  });

  describe('a run stored as completed whose log lacks run.completed (crash after storing the result)', () => {
    const run = RunFactory.create({
      status: 'completed',
      attempts: 1,
      output: { answer: 42 },
      started_at: CREATED_AT,
      finished_at: CREATED_AT,
    });

    beforeEach(async () => {
      seedQueuedRun(mocks, run);
      mocks.eventLog.seed(EventFactory.started(2, 1));
      await sut.execute(RunFactory.job(run), { number: 2, of: 3 }, signal);
    });

    it('should append run.completed with the stored output', () => {
      const events = mocks.eventLog.eventsOf(RUN_ID);

      expect(types(events)).toEqual(['run.queued', 'run.started', 'run.completed']);
      expect(events[2]).toMatchObject({ seq: 3, data: { output: { answer: 42 }, duration_ms: 0 } });
    });

    it('should not run the agent or touch the run again', () => {
      expect(mocks.agent.contexts).toEqual([]);
      expect(mocks.runs.stored(RUN_ID)).toEqual(run);
      expect(mocks.journal).not.toContain('runs.markRunning');
      expect(mocks.agents.statuses).toEqual([]);
    });

    it('should archive the completed log and release the slot', () => {
      expect(types(mocks.archive.events)).toEqual(['run.queued', 'run.started', 'run.completed']);
      expect(mocks.eventLog.ttls.get(RUN_ID)).toBe(TTL_SECONDS);
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });
  });

  it('should only archive a finished run whose log already ends with its outcome', async () => {
    const run = RunFactory.create({ status: 'completed', attempts: 1, output: 'done', finished_at: CREATED_AT });
    seedQueuedRun(mocks, run);
    mocks.eventLog.seed(EventFactory.started(2, 1), EventFactory.completed(3, 'done'));

    await sut.execute(RunFactory.job(run), { number: 2, of: 3 }, signal);

    expect(mocks.eventLog.eventsOf(RUN_ID)).toHaveLength(3);
    expect(mocks.archive.events).toHaveLength(3);
    expect(mocks.agent.contexts).toEqual([]);
  });

  it('should append a final run.failed for a run stored as failed whose log lacks it', async () => {
    const run = RunFactory.create({ status: 'failed', attempts: 0, error: { code: 'enqueue_failed', message: 'queue down' } });
    seedQueuedRun(mocks, run);

    await sut.execute(RunFactory.job(run), FIRST_OF_THREE, signal);

    expect(mocks.eventLog.eventsOf(RUN_ID).at(-1)).toMatchObject({
      seq: 2,
      type: 'run.failed',
      data: { code: 'enqueue_failed', message: 'queue down', attempt: 1, final: true },
    });
    expect(mocks.agent.contexts).toEqual([]);
  });

  it.each(TERMINAL_RUN_STATUSES)('should never run the agent for a %s run, only settle it and release its slot', async (status) => {
    seedQueuedRun(mocks, RunFactory.create({ status, error: status === 'failed' ? { code: 'x', message: 'y' } : null }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    expect(mocks.agent.contexts).toEqual([]);
    expect(mocks.runs.stored(RUN_ID)?.status).toBe(status);
    expect(mocks.journal).not.toContain('runs.markRunning');
    expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
  });

  // On PostgreSQL an ended run's agent is settled in a transaction after the run's own, which a crash can cut off.
  it.each(['completed', 'cancelled'] as const)('should settle the agent of a %s run again when its job comes back, as of the run\'s end', async (status) => {
    const finishedAt = '2026-12-07T10:00:00.000Z';
    const error = status === 'cancelled' ? { code: 'cancelled', message: 'user asked' } : null;
    seedQueuedRun(mocks, RunFactory.create({ status, error, finished_at: finishedAt }), AgentFactory.create({ status: 'running' }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    expect(mocks.agents.statuses).toEqual(['idle']);
    expect((await mocks.agents.findById(TENANT, AGENT_ID))?.last_activity).toBe(finishedAt);
  });

  it("should leave a failed run's agent as its attempt left it when its job comes back", async () => {
    seedQueuedRun(mocks, RunFactory.create({ status: 'failed', error: { code: 'x', message: 'y' }, finished_at: '2026-12-07T10:00:00.000Z' }), AgentFactory.create({ status: 'error' }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    expect(mocks.agents.statuses).toEqual([]);
  });

  it('should leave the log of a cancelled run to whoever cancelled it', async () => {
    seedQueuedRun(mocks, RunFactory.create({ status: 'cancelled', error: { code: 'cancelled', message: 'user asked' } }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued']);
    expect(mocks.archive.events).toEqual([EventFactory.queued()]);
  });

  describe('when agent-api requested a cancellation before the attempt', () => {
    beforeEach(async () => {
      seedQueuedRun(mocks);
      mocks.cancellation.reasons.set(RUN_ID, 'user asked');
      await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);
    });

    it('should never run the agent', () => {
      expect(mocks.agent.contexts).toEqual([]);
      expect(mocks.journal).not.toContain('agent.run');
    });

    it('should store the run as cancelled with the reason', () => {
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({
        status: 'cancelled',
        error: { code: 'cancelled', message: 'user asked' },
        finished_at: expect.stringMatching(/Z$/),
      });
    });

    it('should end the log with run.cancelled by this worker', () => {
      const events = mocks.eventLog.eventsOf(RUN_ID);

      expect(types(events)).toEqual(['run.queued', 'run.started', 'run.cancelled']);
      expect(events[2]).toMatchObject({ seq: 3, data: { reason: 'user asked', by: 'worker-1' } });
    });

    it('should set the agent idle, archive the log and release the slot', () => {
      expect(mocks.agents.statuses).toEqual(['running', 'idle']);
      expect(mocks.archive.events).toEqual(mocks.eventLog.eventsOf(RUN_ID));
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });

    it('should count a cancelled attempt', async () => {
      expect(await metricLine('skreaver_runs_total', 'kind="echo",status="cancelled"')).toMatch(/ 1$/);
      expect(await metricLine('skreaver_runs_active', '')).toBe('skreaver_runs_active 0');
    });
  });

  it("should leave a run open, its journal kept, when its process stops before it finished (direct mode's shutdown)", async () => {
    seedQueuedRun(mocks);
    const controller = new AbortController();
    mocks.agent.behaviour = async (_input, context) => {
      await context.step('charge', async () => 'charged');
      controller.abort(new WorkerStopping('the process running it shut down'));
      return 'too late';
    };

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, controller.signal);

    expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'running', attempts: 1 });
    expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started']);
    expect(mocks.steps.stepsOf(RUN_ID)).toHaveLength(1);
    expect(mocks.dispatcher.released).toEqual([]);
  });

  describe.each([
    ['gives up with an error', (): Promise<JsonValue> => Promise.reject(new Error('aborted'))],
    ['returns a result anyway', (): Promise<JsonValue> => Promise.resolve('late answer')],
  ])('when the run is cancelled while the agent runs and the agent %s', (_label, afterAbort) => {
    let error: unknown;

    beforeEach(async () => {
      seedQueuedRun(mocks);
      const controller = new AbortController();
      mocks.agent.behaviour = () => {
        controller.abort(new Error('superseded'));
        return afterAbort();
      };
      error = await sut.execute(RunFactory.job(), LAST_OF_THREE, controller.signal).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
    });

    it('should resolve instead of failing the job', () => {
      expect(error).toBeUndefined();
    });

    it('should store the run as cancelled with the reason of the abort', () => {
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'cancelled', error: { code: 'cancelled', message: 'superseded' } });
      expect(mocks.journal).not.toContain('runs.markCompleted');
      expect(mocks.journal).not.toContain('runs.markFailed');
    });

    it('should end the log with run.cancelled, not run.completed or run.failed', () => {
      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started', 'run.cancelled']);
      expect(mocks.eventLog.eventsOf(RUN_ID)[2]?.data).toEqual({ reason: 'superseded', by: 'worker-1' });
    });

    it('should set the agent idle and release the slot', () => {
      expect(mocks.agents.statuses).toEqual(['running', 'idle']);
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });
  });

  it('should take an abort reason that is not an Error as it is', async () => {
    seedQueuedRun(mocks);
    const controller = new AbortController();
    mocks.agent.behaviour = async () => {
      controller.abort('operator');
      return 'ignored';
    };

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, controller.signal);

    expect(mocks.eventLog.eventsOf(RUN_ID).at(-1)).toMatchObject({ type: 'run.cancelled', data: { reason: 'operator' } });
  });

  describe('when agent-api cancels the run between the read and markRunning', () => {
    beforeEach(async () => {
      seedQueuedRun(mocks);
      mocks.runs.beforeMarkRunning = () =>
        mocks.runs.setStatus(RUN_ID, { status: 'cancelled', error: { code: 'cancelled', message: 'user asked' }, finished_at: CREATED_AT });
      mocks.eventLog.seed(EventFactory.cancelled(2, 'user asked'));
      await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);
    });

    it('should never run the agent nor log run.started', () => {
      expect(mocks.agent.contexts).toEqual([]);
      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.cancelled']);
      expect(mocks.agents.statuses).toEqual([]);
    });

    it('should leave the run cancelled', () => {
      expect(mocks.runs.stored(RUN_ID)?.status).toBe('cancelled');
    });

    it('should archive the log and release the slot', () => {
      expect(types(mocks.archive.events)).toEqual(['run.queued', 'run.cancelled']);
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });
  });

  describe('when the database is down', () => {
    beforeEach(() => {
      seedQueuedRun(mocks);
    });

    it('should wait for it to read the run instead of spending the attempt', async () => {
      mocks.runs.outages = 2;

      await sut.execute(RunFactory.job(), LAST_OF_THREE, signal);

      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', attempts: 3 });
      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started', 'run.completed']);
    });

    it('should wait for it to store the result, then end the run once, without running the agent again', async () => {
      mocks.runs.outages = 0;
      mocks.agent.behaviour = async (input) => {
        mocks.runs.outages = 3;
        return { echoed: input };
      };

      await sut.execute(RunFactory.job(), LAST_OF_THREE, signal);

      expect(mocks.agent.contexts).toHaveLength(1);
      expect(mocks.journal.filter((entry) => entry === 'runs.markCompleted')).toHaveLength(4);
      expect(mocks.runs.stored(RUN_ID)?.status).toBe('completed');
      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started', 'run.completed']);
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });

    it('should log one warning when the wait begins and one line when the database answers again', async () => {
      mocks.runs.outages = 3;

      await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

      const messages = mocks.lines.map((line) => JSON.parse(line) as { level: string; fields: { message: string } });
      expect(messages.filter((line) => line.fields.message.startsWith('Database'))).toEqual([
        expect.objectContaining({ level: 'WARN', fields: expect.objectContaining({ message: 'Database unavailable; run bookkeeping waits for it' }) }),
        expect.objectContaining({ level: 'INFO', fields: expect.objectContaining({ message: 'Database answers again; run bookkeeping resumed' }) }),
      ]);
    });
  });

  describe('durable steps', () => {
    let charges = 0;

    beforeEach(() => {
      charges = 0;
      seedQueuedRun(mocks);
      mocks.agent.behaviour = async (_input, context) => {
        const charge = await context.step('charge', async () => ++charges);
        const sum = await context.tools.call('math', { expression: '1 + 1' });
        if (context.attempt === 1) throw new Error('worker trouble');
        return { charge, sum: sum.ok ? sum.result : null };
      };
    });

    it("should journal the agent's steps and replay them on the run's next attempt instead of running them again", async () => {
      await expect(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal)).rejects.toThrow('worker trouble');
      await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

      expect(charges).toBe(1);
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', output: { charge: 1, sum: { value: 2 } } });
      expect(mocks.steps.stepsOf(RUN_ID).map(({ ordinal, kind, name, ok, result }) => ({ ordinal, kind, name, ok, result }))).toEqual([
        { ordinal: 1, kind: 'step', name: 'charge', ok: true, result: 1 },
        { ordinal: 2, kind: 'tool', name: 'math', ok: true, result: { value: 2 } },
      ]);
      const replayed = mocks.eventLog.eventsOf(RUN_ID).filter((event) => event.type === 'tool.result' && event.data.attempt === 2);
      expect(replayed.map((event) => event.data)).toEqual([expect.objectContaining({ ok: true, result: { value: 2 }, replayed: true })]);
    });

    it('should wait out a database outage while reading and writing the journal, losing no step', async () => {
      mocks.steps.outages = 3;

      await expect(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal)).rejects.toThrow('worker trouble');
      mocks.steps.outages = 2;
      await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

      expect(charges).toBe(1);
      expect(mocks.steps.stepsOf(RUN_ID)).toHaveLength(2);
      expect(mocks.runs.stored(RUN_ID)?.status).toBe('completed');
    });
  });

  it('should log the start of an attempt whose worker died before logging it, then the next attempt', async () => {
    // The worker marked the run running as attempt 1, then died before appending run.started.
    seedQueuedRun(mocks, RunFactory.create({ status: 'running', attempts: 1 }));

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    const log = mocks.eventLog.eventsOf(RUN_ID);
    expect(types(log)).toEqual(['run.queued', 'run.started', 'run.started', 'run.completed']);
    expect(log.map((event) => event.data)).toEqual([
      expect.anything(),
      { attempt: 1, worker: 'unknown' },
      { attempt: 2, worker: 'worker-1' },
      expect.anything(),
    ]);
    expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', attempts: 2 });
  });

  describe('when bookkeeping fails after the agent succeeded', () => {
    // Not an outage (those are waited out): an error a retry of the whole job is for.
    const outage = new Error('SQLITE_CORRUPT: database disk image is malformed');

    beforeEach(() => {
      seedQueuedRun(mocks);
    });

    it('should propagate a failure to store the result without logging run.failed', async () => {
      mocks.runs.markCompletedFailure = outage;

      await expect(sut.execute(RunFactory.job(), LAST_OF_THREE, signal)).rejects.toBe(outage);

      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started']);
      expect(mocks.journal).not.toContain('runs.markFailed');
      expect(mocks.dispatcher.released).toEqual([]);
    });

    // The log is archived with the result, before run.completed is logged: the retry logs it and frees the slot.
    it('should propagate a failure to archive without logging run.completed or run.failed', async () => {
      mocks.archive.appendFailure = outage;

      await expect(sut.execute(RunFactory.job(), LAST_OF_THREE, signal)).rejects.toBe(outage);

      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started']);
      expect(mocks.runs.stored(RUN_ID)?.status).toBe('completed');
      expect(mocks.agents.statuses).toEqual(['running', 'idle']);
      expect(mocks.journal).not.toContain('runs.markFailed');
    });

    it('should settle the run on the retry: log run.completed, archive, expire and release without running the agent again', async () => {
      mocks.archive.appendFailure = outage;
      await rejectionOf(sut.execute(RunFactory.job(), { number: 1, of: 3 }, signal));
      mocks.archive.appendFailure = undefined;

      await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

      expect(mocks.agent.contexts).toHaveLength(1);
      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started', 'run.completed']);
      expect(types(mocks.archive.events)).toEqual(['run.queued', 'run.started', 'run.completed']);
      expect(mocks.eventLog.ttls.get(RUN_ID)).toBe(TTL_SECONDS);
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
    });

    // Released with run.completed's append, not after its reply: a failed append still frees the slot (once, the
    // retry's release admits nobody twice) and the retry logs run.completed.
    it('should free the slot and fail the attempt when appending run.completed fails, then log it on the retry', async () => {
      const append = mocks.eventLog.append.bind(mocks.eventLog);
      mocks.eventLog.append = async (event, options) => {
        if (event.type === 'run.completed') throw outage;
        return append(event, options);
      };

      await expect(sut.execute(RunFactory.job(), { number: 1, of: 3 }, signal)).rejects.toBe(outage);

      expect(mocks.runs.stored(RUN_ID)?.status).toBe('completed');
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
      mocks.eventLog.append = append;

      await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

      expect(types(mocks.eventLog.eventsOf(RUN_ID))).toEqual(['run.queued', 'run.started', 'run.completed']);
      expect(mocks.agent.contexts).toHaveLength(1);
    });

    it('should log on the retry the very run.completed archived when its append failed (its ts and duration, not new ones)', async () => {
      mocks.agent.behaviour = async (input) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        return { echoed: input };
      };
      const append = mocks.eventLog.append.bind(mocks.eventLog);
      mocks.eventLog.append = async (event) => {
        if (event.type === 'run.completed' && mocks.eventLog.appendFailure === undefined && mocks.archive.events.length === 3) {
          mocks.eventLog.append = append;
          throw outage;
        }
        return append(event);
      };
      await rejectionOf(sut.execute(RunFactory.job(), { number: 1, of: 3 }, signal));
      const archived = mocks.archive.events[2];

      await sut.execute(RunFactory.job(), { number: 2, of: 3 }, signal);

      expect(archived).toMatchObject({ type: 'run.completed', seq: 3, data: { duration_ms: expect.any(Number) } });
      expect(archived?.type === 'run.completed' && archived.data.duration_ms).toBeGreaterThan(0);
      expect(mocks.eventLog.eventsOf(RUN_ID)[2]).toEqual(archived);
      expect(mocks.archive.events).toHaveLength(3);
      expect(mocks.agent.contexts).toHaveLength(1);
    });
  });

  it.each([
    ['the run', () => mocks.agents.seed(AgentFactory.create())],
    ['the agent', () => mocks.runs.seed(RunFactory.create())],
  ])('should drop the job without side effects when %s no longer exists', async (_missing, seedTheOther) => {
    seedTheOther();

    await expect(sut.execute(RunFactory.job(), FIRST_OF_THREE, signal)).resolves.toBeUndefined();

    expect(mocks.journal).toEqual([]);
    expect(mocks.agents.statuses).toEqual([]);
    expect(mocks.eventLog.eventsOf(RUN_ID)).toEqual([]);
    expect(mocks.archive.events).toEqual([]);
  });

  it("should not find a run through another tenant's job", async () => {
    seedQueuedRun(mocks);

    await sut.execute({ ...RunFactory.job(), tenant_id: 'other' }, FIRST_OF_THREE, signal);

    expect(mocks.journal).toEqual([]);
    expect(mocks.runs.stored(RUN_ID)?.status).toBe('queued');
  });

  describe('an agent that asks for human input', () => {
    let run: Run;
    let finished: Run[];

    beforeEach(async () => {
      finished = [];
      sut.addHooks({ started: async () => undefined, finished: async (ended) => void finished.push(ended) });
      mocks.agent.behaviour = async (_input, context) => ({ city: await context.waitForInput({ prompt: 'Which city?', timeout_seconds: 60 }) });
      run = seedQueuedRun(mocks);
      await sut.execute(RunFactory.job(run), FIRST_OF_THREE, signal);
    });

    it('should end the job without an error and suspend the run, its attempt not spent', () => {
      expect(mocks.runs.stored(RUN_ID)).toMatchObject({
        status: 'waiting_input',
        attempts: 0,
        pending_inputs: [{ id: 'input_1', kind: 'input', prompt: 'Which city?', expires_at: expect.stringMatching(/Z$/) }],
      });
    });

    it('should log run.waiting_input after run.started, and not archive the open log', () => {
      const events = mocks.eventLog.eventsOf(RUN_ID);

      expect(types(events)).toEqual(['run.queued', 'run.started', 'run.waiting_input']);
      expect(events[2]?.data).toMatchObject({ attempt: 1, pending_inputs: [{ id: 'input_1' }] });
      expect(mocks.archive.events).toEqual([]);
    });

    it('should give the agent slot back and tell no hook the run finished', () => {
      expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
      expect(finished).toEqual([]);
    });

    it('should drop a stale job of the waiting run without running the agent', async () => {
      mocks.journal.length = 0;

      await sut.execute(RunFactory.job(run), FIRST_OF_THREE, signal);

      expect(mocks.journal).not.toContain('agent.run');
      expect(mocks.runs.stored(RUN_ID)?.status).toBe('waiting_input');
    });

    it('should replay with the answers once resumed, completing as the same attempt', async () => {
      await mocks.runs.markResumed(RUN_ID, { input_1: 'Paris' });

      await sut.execute(RunFactory.job(run), FIRST_OF_THREE, signal);

      expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'completed', output: { city: 'Paris' }, attempts: 1 });
      expect(types(mocks.eventLog.eventsOf(RUN_ID)).slice(-2)).toEqual(['run.started', 'run.completed']);
      expect(finished.map((ended) => ended.status)).toEqual(['completed']);
    });
  });

  it('should cancel a run at once when its cancellation was requested while it went to wait', async () => {
    mocks.agent.behaviour = async (_input, context) => {
      mocks.cancellation.reasons.set(RUN_ID, 'user asked');
      return context.waitForInput({ prompt: 'Which city?' });
    };
    seedQueuedRun(mocks);

    await sut.execute(RunFactory.job(), FIRST_OF_THREE, signal);

    expect(mocks.runs.stored(RUN_ID)).toMatchObject({ status: 'cancelled', error: { code: 'cancelled', message: 'user asked' } });
    expect(types(mocks.eventLog.eventsOf(RUN_ID)).slice(-2)).toEqual(['run.waiting_input', 'run.cancelled']);
  });
});
