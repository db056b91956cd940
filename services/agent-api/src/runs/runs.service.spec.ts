import { RunEventV1, TERMINAL_RUN_STATUSES, runEventId } from '@skreaver/contracts';
import {
  FIXTURE_IDS,
  FakeRunCancellation,
  FakeRunDispatcher,
  InMemoryAgentRepository,
  InMemoryRunEventArchive,
  InMemoryRunEventLog,
  InMemoryRunRepository,
  agentFixture,
  runFixture,
} from '@skreaver/testing';
import type { AgentConcurrency, JsonValue, Run } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import type { Admission, RunEventLog } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import type { AgentRepository, RunEventArchive, RunRepository } from '@skreaver/persistence';
import { QueuedRunCanceller, RunAdmissionError, RunCreator } from '@skreaver/runs';
import type { RunCancellation, RunDispatcher } from '@skreaver/runs';

import type { RunEventListener, RunEventsHub } from './run-events.hub';
import { RunsService } from './runs.service';

const TENANT = FIXTURE_IDS.tenant;
const AGENT_ID = FIXTURE_IDS.agent;
const OTHER_AGENT_ID = '1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a';
const RUN_ID = FIXTURE_IDS.run;
const OTHER_RUN_ID = '7c6b5a49-3827-4165-a4b3-c2d1e0f9a8b7';
const THIRD_RUN_ID = '0a9b8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c7d';
const CREATED_AT = FIXTURE_IDS.createdAt;
const TTL_SECONDS = 600;

// ---------------------------------------------------------------- factories

const AgentFactory = { create: agentFixture };

const RunFactory = {
  create(overrides: Partial<Run> = {}): Run {
    return runFixture({ status: 'completed', input: 'ping', output: 'pong', attempts: 1, started_at: CREATED_AT, finished_at: CREATED_AT, ...overrides });
  },

  queued(overrides: Partial<Run> = {}): Run {
    return RunFactory.create({ status: 'queued', output: null, attempts: 0, started_at: null, finished_at: null, ...overrides });
  },
  running(overrides: Partial<Run> = {}): Run {
    return RunFactory.create({ status: 'running', output: null, finished_at: null, ...overrides });
  },
};

const EventFactory = {
  base(runId: string, seq: number) {
    return { id: runEventId(runId, seq), run_id: runId, agent_id: AGENT_ID, tenant_id: TENANT, seq, ts: CREATED_AT };
  },
  queued(runId = RUN_ID): RunEventV1 {
    return { ...EventFactory.base(runId, 1), type: 'run.queued', data: { input: 'ping' } };
  },
  started(seq: number, runId = RUN_ID): RunEventV1 {
    return { ...EventFactory.base(runId, seq), type: 'run.started', data: { attempt: seq - 1, worker: 'w' } };
  },
  completed(seq: number, runId = RUN_ID): RunEventV1 {
    return { ...EventFactory.base(runId, seq), type: 'run.completed', data: { output: 'pong', duration_ms: 3 } };
  },
  failed(seq: number, final: boolean, runId = RUN_ID): RunEventV1 {
    return { ...EventFactory.base(runId, seq), type: 'run.failed', data: { code: 'agent_error', message: 'x', attempt: seq - 2, final } };
  },
  cancelled(seq: number, runId = RUN_ID): RunEventV1 {
    return { ...EventFactory.base(runId, seq), type: 'run.cancelled', data: { reason: 'user asked', by: 'w' } };
  },
  waiting(seq: number, runId = RUN_ID): RunEventV1 {
    const pending = [{ id: 'input_1', kind: 'input' as const, prompt: 'Which city?', expires_at: CREATED_AT }];
    return { ...EventFactory.base(runId, seq), type: 'run.waiting_input', data: { attempt: 1, pending_inputs: pending } };
  },
  resumed(seq: number, runId = RUN_ID): RunEventV1 {
    return { ...EventFactory.base(runId, seq), type: 'run.resumed', data: { input_ids: ['input_1'], by: 'key' } };
  },
};

/**
 * The canceller's compare-and-sets for a run it may cancel: from waiting_input first (a waiting thread run frees its
 * thread), then from queued.
 */
function cancelledFromQueuedOrWaiting(id: string, error: { code: string; message: string }) {
  return [
    { id, error, from: ['waiting_input'] },
    { id, error, from: ['queued'] },
  ];
}

/** Events 1..count of a run: run.queued, then run.started per attempt. */
function eventsOf(runId: string, count: number): RunEventV1[] {
  return Array.from({ length: count }, (_, index) => (index === 0 ? EventFactory.queued(runId) : EventFactory.started(index + 1, runId)));
}

// ---------------------------------------------------------------- in-memory collaborators (the shared ones: @skreaver/testing)

/** The process-wide event tail; tests publish what coordinators would append. */
class FakeRunEventsHub implements Pick<RunEventsHub, 'subscribe'> {
  private readonly listeners = new Map<string, Set<RunEventListener>>();

  subscribe(runId: string, listener: RunEventListener): () => void {
    const set = this.listeners.get(runId) ?? new Set<RunEventListener>();
    this.listeners.set(runId, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  publish(...events: RunEventV1[]): void {
    for (const event of events) [...(this.listeners.get(event.run_id) ?? [])].forEach((listener) => listener(event));
  }

  listenerCount(runId: string): number {
    return this.listeners.get(runId)?.size ?? 0;
  }
}

function newTestService() {
  const journal: string[] = [];
  const lines: string[] = [];
  const mocks = {
    journal,
    lines,
    agents: new InMemoryAgentRepository(),
    runs: new InMemoryRunRepository(journal),
    archive: new InMemoryRunEventArchive(journal),
    eventLog: new InMemoryRunEventLog(journal),
    dispatcher: new FakeRunDispatcher<Admission>(journal),
    cancellation: new FakeRunCancellation(journal),
    hub: new FakeRunEventsHub(),
  };
  mocks.agents.seed(AgentFactory.create());
  // The real creator and canceller over the same fakes: submit and cancel are theirs, translated to HTTP here.
  // The parts of the real collaborators used here, which the shared fakes must match (checked here).
  const runRows: Pick<
    RunRepository,
    'insert' | 'findById' | 'findByIdempotencyKey' | 'delete' | 'markFailed' | 'markCancelled' | 'listOpenByAgent' | 'listByAgent'
  > = mocks.runs;
  const agents: Pick<AgentRepository, 'findById'> = mocks.agents;
  const archived: Pick<RunEventArchive, 'list' | 'append'> = mocks.archive;
  const log: Pick<RunEventLog, 'append' | 'read' | 'last' | 'expire'> = mocks.eventLog;
  const dispatching: Pick<RunDispatcher, 'admit' | 'enqueue' | 'release' | 'standing'> = mocks.dispatcher;
  const cancelling: Pick<RunCancellation, 'request'> = mocks.cancellation;
  const runs = runRows as RunRepository;
  const archive = archived as RunEventArchive;
  const eventLog = log as RunEventLog;
  const dispatcher = dispatching as RunDispatcher;
  const cancellation = cancelling as RunCancellation;
  const canceller = new QueuedRunCanceller(runs, eventLog, archive, dispatcher, TTL_SECONDS);
  const sut = new RunsService(
    agents as AgentRepository,
    runs,
    archive,
    eventLog,
    new RunCreator(runs, eventLog, dispatcher, cancellation, canceller, TTL_SECONDS),
    canceller,
    cancellation,
    mocks.hub as unknown as RunEventsHub,
    new JsonLogger('skreaver_agent_api', 'trace', (line) => lines.push(line)),
  );
  return { sut, mocks };
}

type TestMocks = ReturnType<typeof newTestService>['mocks'];

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Lets every pending promise callback and I/O callback run. */
async function flush(): Promise<void> {
  for (let round = 0; round < 5; round += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether `promise` has settled yet. */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  return { settled: () => settled, promise: tracked };
}

// ---------------------------------------------------------------- specs

describe(RunsService.name, () => {
  let sut: RunsService;
  let mocks: TestMocks;

  beforeEach(() => {
    ({ sut, mocks } = newTestService());
  });

  function useConcurrency(concurrency: AgentConcurrency): void {
    mocks.agents.seed(AgentFactory.create({ concurrency }));
  }

  describe('submit', () => {
    const input: JsonValue = { question: 'ping', tags: ['a'] };

    it('should store and return a queued api run, not replayed', async () => {
      const { run, replayed } = await sut.submit(TENANT, AGENT_ID, input);

      expect(replayed).toBe(false);
      expect(run).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        tenant_id: TENANT,
        agent_id: AGENT_ID,
        status: 'queued',
        source: 'api',
        input,
        output: null,
        error: null,
        attempts: 0,
        idempotency_key: null,
        usage: null,
        thread_id: null,
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T.*Z$/),
        started_at: null,
        finished_at: null,
        pending_inputs: [],
      });
      expect(mocks.runs.rows.get(run.id)).toEqual({ run, requestHash: null });
    });

    it('should mint a new id per run', async () => {
      const first = await sut.submit(TENANT, AGENT_ID, input);
      const second = await sut.submit(TENANT, AGENT_ID, input);

      expect(first.run.id).not.toBe(second.run.id);
    });

    it('should answer 404 for an unknown agent without storing anything', async () => {
      const error = await rejectionOf(sut.submit(TENANT, OTHER_AGENT_ID, input));

      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 404, code: 'not_found', message: `agent ${OTHER_AGENT_ID} not found` });
      expect(mocks.journal).toEqual([]);
    });

    it("should answer 404 for another tenant's agent", async () => {
      await expect(sut.submit('other-tenant', AGENT_ID, input)).rejects.toMatchObject({ status: 404, code: 'not_found' });
      expect(mocks.journal).toEqual([]);
    });

    it('should answer 503 database_unavailable when the run cannot be stored', async () => {
      mocks.runs.insertFailure = withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');

      await expect(sut.submit(TENANT, AGENT_ID, input)).rejects.toMatchObject({ status: 503, code: 'database_unavailable' });
      expect(mocks.journal).toEqual(['runs.insert']);
    });

    describe.each(['enqueue', 'parallel', 'interrupt'] as const)('under policy %s', (policy) => {
      beforeEach(() => useConcurrency({ policy, max_concurrency: policy === 'parallel' ? 4 : 1 }));

      it('should append run.queued as event 1 before asking for admission, then enqueue the admitted run', async () => {
        const { run } = await sut.submit(TENANT, AGENT_ID, input);

        expect(mocks.journal).toEqual(['runs.insert', 'eventLog.append run.queued', 'dispatcher.admit', 'dispatcher.enqueue']);
        expect(mocks.eventLog.eventsOf(run.id)).toEqual([
          {
            id: `${run.id}:1`,
            run_id: run.id,
            agent_id: AGENT_ID,
            tenant_id: TENANT,
            seq: 1,
            ts: run.created_at,
            type: 'run.queued',
            data: { input },
          },
        ]);
        expect(mocks.dispatcher.enqueued).toEqual([run.id]);
      });

      it("should ask for admission under the agent's concurrency", async () => {
        const { run } = await sut.submit(TENANT, AGENT_ID, input);

        expect(mocks.dispatcher.admitted).toEqual([
          { agentId: AGENT_ID, concurrency: { policy, max_concurrency: policy === 'parallel' ? 4 : 1 }, runId: run.id },
        ]);
      });
    });

    describe.each(['enqueue', 'parallel'] as const)('when policy %s makes the run wait its turn', (policy) => {
      beforeEach(() => {
        useConcurrency({ policy, max_concurrency: policy === 'parallel' ? 2 : 1 });
        mocks.dispatcher.admission = { outcome: 'queued', position: 3 };
      });

      it('should log run.queued but not enqueue the run (a released slot enqueues it later)', async () => {
        const { run, replayed } = await sut.submit(TENANT, AGENT_ID, input);

        expect(replayed).toBe(false);
        expect(run.status).toBe('queued');
        expect(mocks.journal).toEqual(['runs.insert', 'eventLog.append run.queued', 'dispatcher.admit']);
        expect(mocks.dispatcher.enqueued).toEqual([]);
        expect(mocks.runs.stored(run.id)?.status).toBe('queued');
      });
    });

    describe('under policy reject', () => {
      beforeEach(() => useConcurrency({ policy: 'reject', max_concurrency: 1 }));

      it('should ask for admission before logging anything, then log run.queued and enqueue', async () => {
        const { run } = await sut.submit(TENANT, AGENT_ID, input);

        expect(mocks.journal).toEqual(['runs.insert', 'dispatcher.admit', 'eventLog.append run.queued', 'dispatcher.enqueue']);
        expect(mocks.eventLog.eventsOf(run.id).map((event) => [event.seq, event.type])).toEqual([[1, 'run.queued']]);
        expect(mocks.dispatcher.enqueued).toEqual([run.id]);
      });

      describe('when the agent is busy', () => {
        let error: unknown;

        beforeEach(async () => {
          mocks.dispatcher.admission = { outcome: 'rejected' };
          error = await rejectionOf(sut.submit(TENANT, AGENT_ID, input));
        });

        it('should answer 409 agent_busy', () => {
          expect(error).toBeInstanceOf(ApiError);
          expect(error).toMatchObject({ status: 409, code: 'agent_busy' });
        });

        it('should delete the stored run and append nothing', () => {
          expect(mocks.runs.rows.size).toBe(0);
          expect(mocks.journal).toEqual(['runs.insert', 'dispatcher.admit', 'runs.delete']);
          expect(mocks.dispatcher.enqueued).toEqual([]);
        });

        it('should not treat the refusal as a queue outage', () => {
          expect(mocks.journal).not.toContain('runs.markFailed');
          expect(mocks.lines.filter((line) => line.includes('Could not enqueue run'))).toEqual([]);
        });
      });
    });

    describe('under policy interrupt, with a queued and a running run in the way', () => {
      const queuedVictim = RunFactory.queued({ id: OTHER_RUN_ID });
      const runningVictim = RunFactory.running({ id: THIRD_RUN_ID });
      let run: Run;

      beforeEach(async () => {
        useConcurrency({ policy: 'interrupt', max_concurrency: 1 });
        mocks.runs.seed(queuedVictim);
        mocks.runs.seed(runningVictim);
        mocks.eventLog.seed(EventFactory.queued(OTHER_RUN_ID), EventFactory.queued(THIRD_RUN_ID), EventFactory.started(2, THIRD_RUN_ID));
        mocks.dispatcher.admission = { outcome: 'interrupt', interrupted: [THIRD_RUN_ID, OTHER_RUN_ID] };
        ({ run } = await sut.submit(TENANT, AGENT_ID, input));
      });

      it('should cancel the queued one in the database, from queued (or waiting for input) only', () => {
        expect(mocks.runs.stored(OTHER_RUN_ID)).toMatchObject({
          status: 'cancelled',
          error: { code: 'cancelled', message: `interrupted by run ${run.id}` },
          finished_at: expect.stringMatching(/Z$/),
        });
        const error = { code: 'cancelled', message: `interrupted by run ${run.id}` };
        expect(mocks.runs.markCancelledCalls).toEqual([...cancelledFromQueuedOrWaiting(THIRD_RUN_ID, error), ...cancelledFromQueuedOrWaiting(OTHER_RUN_ID, error)]);
      });

      it('should end the queued one’s log with run.cancelled by the policy, archive it and free its slot', () => {
        expect(mocks.eventLog.eventsOf(OTHER_RUN_ID).at(-1)).toMatchObject({
          id: runEventId(OTHER_RUN_ID, 2),
          seq: 2,
          type: 'run.cancelled',
          data: { reason: `interrupted by run ${run.id}`, by: 'policy:interrupt' },
        });
        expect(mocks.archive.rows.filter((event) => event.run_id === OTHER_RUN_ID)).toEqual(mocks.eventLog.eventsOf(OTHER_RUN_ID));
        expect(mocks.eventLog.ttls.get(OTHER_RUN_ID)).toBe(TTL_SECONDS);
        expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: OTHER_RUN_ID }]);
      });

      it('should ask the coordinator of the running one to cancel it, leaving its row to the coordinator', () => {
        expect(mocks.cancellation.requests).toEqual([{ runId: THIRD_RUN_ID, reason: `interrupted by run ${run.id}` }]);
        expect(mocks.runs.stored(THIRD_RUN_ID)?.status).toBe('running');
        expect(mocks.eventLog.eventsOf(THIRD_RUN_ID)).toHaveLength(2);
      });

      it('should enqueue the new run once the others are dealt with', () => {
        expect(mocks.dispatcher.enqueued).toEqual([run.id]);
        expect(mocks.journal.at(-1)).toBe('dispatcher.enqueue');
        expect(mocks.journal.indexOf('cancellation.request')).toBeLessThan(mocks.journal.indexOf('dispatcher.enqueue'));
      });
    });

    it('should only signal an interrupted run it cannot cancel as queued (one that no longer exists), freeing no slot', async () => {
      useConcurrency({ policy: 'interrupt', max_concurrency: 1 });
      mocks.dispatcher.admission = { outcome: 'interrupt', interrupted: [OTHER_RUN_ID] };

      const { run } = await sut.submit(TENANT, AGENT_ID, input);

      expect(mocks.cancellation.requests.map((request) => request.runId)).toEqual([OTHER_RUN_ID]);
      expect(mocks.dispatcher.released).toEqual([]);
      expect(mocks.dispatcher.enqueued).toEqual([run.id]);
    });

    describe('with an idempotency key', () => {
      const idempotencyKey = 'order-42';

      it('should store the key on the run and a hash of the request beside it', async () => {
        const { run } = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });

        expect(run.idempotency_key).toBe(idempotencyKey);
        expect(mocks.runs.rows.get(run.id)?.requestHash).toMatch(/^[0-9a-f]{64}$/);
      });

      it('should answer a retry with the same input with the first run, replayed, without a second insert', async () => {
        const first = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });
        mocks.journal.length = 0;

        const second = await sut.submit(TENANT, AGENT_ID, structuredClone(input), { idempotencyKey });

        expect(second).toEqual({ run: first.run, replayed: true });
        expect(mocks.runs.rows.size).toBe(1);
        // Still queued and holding its slot: enqueued again in case the first request died before it could be
        // (harmless otherwise: the job id is the run id).
        expect(mocks.journal).toEqual(['dispatcher.enqueue']);
        expect(mocks.dispatcher.admitted).toHaveLength(1);
      });

      it('should answer the first run as it stands now', async () => {
        const first = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });
        mocks.runs.setStatus(first.run.id, { status: 'completed', output: 'done' });

        const second = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });

        expect(second.run).toMatchObject({ id: first.run.id, status: 'completed', output: 'done' });
      });

      it('should answer 422 idempotency_key_reused for the same key with another input', async () => {
        await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });

        const error = await rejectionOf(sut.submit(TENANT, AGENT_ID, { question: 'pong' }, { idempotencyKey }));

        expect(error).toBeInstanceOf(ApiError);
        expect(error).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
        expect(mocks.runs.rows.size).toBe(1);
      });

      it('should not replay a run of another agent with the same key', async () => {
        mocks.agents.seed(AgentFactory.create({ id: OTHER_AGENT_ID }));
        const first = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });

        const second = await sut.submit(TENANT, OTHER_AGENT_ID, input, { idempotencyKey });

        expect(second.replayed).toBe(false);
        expect(second.run.id).not.toBe(first.run.id);
      });

      it('should not replay across different keys', async () => {
        const first = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });

        const second = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey: 'order-43' });

        expect(second.run.id).not.toBe(first.run.id);
      });

      it('should answer the winner’s run when a concurrent request with the key inserted first', async () => {
        const winner = RunFactory.queued({ id: OTHER_RUN_ID, input, idempotency_key: idempotencyKey });
        mocks.runs.concurrentInsert = { run: winner, requestHash: await requestHashOf(input, idempotencyKey) };

        const submitted = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });

        expect(submitted).toEqual({ run: winner, replayed: true });
        expect(mocks.runs.rows.size).toBe(1);
        expect(mocks.journal).toEqual(['runs.insert']);
      });

      it('should answer 422 when the concurrent winner had another input', async () => {
        mocks.runs.concurrentInsert = { run: RunFactory.queued({ idempotency_key: idempotencyKey }), requestHash: 'another-body' };

        await expect(sut.submit(TENANT, AGENT_ID, input, { idempotencyKey })).rejects.toMatchObject({
          status: 422,
          code: 'idempotency_key_reused',
        });
      });
    });

    it('should rethrow an insert error when no earlier run holds the key', async () => {
      const failure = new Error('value too long for type character varying(255)');
      mocks.runs.insertFailure = failure;

      await expect(sut.submit(TENANT, AGENT_ID, input, { idempotencyKey: 'k' })).rejects.toBe(failure);
    });

    describe.each([
      ['appending run.queued', 'enqueue', (m: TestMocks) => (m.eventLog.appendFailure = new Error('READONLY You can not write against a read only replica'))],
      ['admission', 'enqueue', (m: TestMocks) => (m.dispatcher.admitFailure = new Error('Connection is closed.'))],
      ['admission', 'reject', (m: TestMocks) => (m.dispatcher.admitFailure = new Error('Connection is closed.'))],
      ['enqueueing', 'enqueue', (m: TestMocks) => (m.dispatcher.enqueueFailure = new Error('Connection is closed.'))],
      ['enqueueing', 'interrupt', (m: TestMocks) => (m.dispatcher.enqueueFailure = new Error('Connection is closed.'))],
    ] as const)('when Redis fails during %s under policy %s', (_step, policy, breakIt) => {
      let error: unknown;

      beforeEach(async () => {
        useConcurrency({ policy, max_concurrency: 1 });
        breakIt(mocks);
        error = await rejectionOf(sut.submit(TENANT, AGENT_ID, input));
      });

      it('should answer 503 queue_unavailable', () => {
        expect(error).toBeInstanceOf(ApiError);
        expect(error).toMatchObject({ status: 503, code: 'queue_unavailable' });
      });

      it('should remove the stored run rather than leave it queued, so a retry creates it anew', () => {
        expect(mocks.runs.rows.size).toBe(0);
        expect(mocks.journal).toContain('runs.delete');
      });

      it("should let the run's log expire", () => {
        expect([...mocks.eventLog.ttls.values()]).toEqual([TTL_SECONDS]);
      });

      it('should leave the log line to the exception filter, handing it the cause with the run id', () => {
        const runId = [...mocks.eventLog.ttls.keys()][0];

        expect(mocks.lines.filter((line) => line.includes('Could not enqueue run'))).toEqual([]);
        expect((error as ApiError).cause).toBeInstanceOf(RunAdmissionError);
        expect((error as ApiError).cause).toMatchObject({ runId });
      });
    });

    describe('when enqueueing fails for a reason that is not an outage', () => {
      it('should still answer 503 queue_unavailable, and log an error with the run id and the cause', async () => {
        useConcurrency({ policy: 'enqueue', max_concurrency: 1 });
        mocks.dispatcher.enqueueFailure = new Error('ERR Error running script: attempt to compare nil with number');

        const error = await rejectionOf(sut.submit(TENANT, AGENT_ID, input));

        expect(error).toMatchObject({ status: 503, code: 'queue_unavailable' });
        const entry = JSON.parse(mocks.lines.at(-1) ?? '{}') as { level?: string; fields?: Record<string, unknown> };
        expect(entry.level).toBe('ERROR');
        expect(entry.fields).toMatchObject({ message: 'Could not enqueue run', run_id: [...mocks.eventLog.ttls.keys()][0] });
      });
    });

    it('should not ask for admission when run.queued could not be appended, and still free any slot', async () => {
      mocks.eventLog.appendFailure = new Error('down');

      await rejectionOf(sut.submit(TENANT, AGENT_ID, input));

      expect(mocks.journal).toEqual(['runs.insert', 'eventLog.append run.queued', 'runs.delete', 'dispatcher.release', 'eventLog.expire']);
    });

    it('should give the agent\'s slot back when enqueueing fails after admission', async () => {
      mocks.dispatcher.enqueueFailure = new Error('Connection is closed.');

      await expect(sut.submit(TENANT, AGENT_ID, input)).rejects.toMatchObject({ status: 503, code: 'queue_unavailable' });

      expect(mocks.journal).toContain('dispatcher.release');
    });

    it('should still answer 503 queue_unavailable when removing the run fails too', async () => {
      mocks.dispatcher.enqueueFailure = new Error('Connection is closed.');
      mocks.runs.deleteFailure = withCode('connect ECONNREFUSED', 'ECONNREFUSED');

      await expect(sut.submit(TENANT, AGENT_ID, input)).rejects.toMatchObject({ status: 503, code: 'queue_unavailable' });
    });
  });

  describe('waitForEnd', () => {
    it('should answer a finished run at once', async () => {
      const run = RunFactory.create();
      mocks.runs.seed(run);

      expect(await sut.waitForEnd(TENANT, RUN_ID, 60_000)).toEqual(run);
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it.each([
      ['run.completed', 'completed', EventFactory.completed(3)],
      ['run.cancelled', 'cancelled', EventFactory.cancelled(3)],
      ['a final run.failed', 'failed', EventFactory.failed(3, true)],
    ] as const)('should answer the stored run as soon as the hub hears %s', async (_label, status, event) => {
      mocks.runs.seed(RunFactory.running());
      const waiting = sut.waitForEnd(TENANT, RUN_ID, 60_000);
      await flush();

      mocks.runs.setStatus(RUN_ID, { status });
      mocks.hub.publish(event);

      expect(await waiting).toMatchObject({ id: RUN_ID, status });
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should keep waiting through a non-final run.failed (a retry follows)', async () => {
      mocks.runs.seed(RunFactory.running());
      const waiting = track(sut.waitForEnd(TENANT, RUN_ID, 60_000));
      await flush();

      mocks.hub.publish(EventFactory.failed(3, false), EventFactory.started(4));
      await flush();

      expect(waiting.settled()).toBe(false);
      mocks.runs.setStatus(RUN_ID, { status: 'completed' });
      mocks.hub.publish(EventFactory.completed(5));
      expect(await waiting.promise).toMatchObject({ status: 'completed' });
    });

    it('should ignore the events of other runs', async () => {
      mocks.runs.seed(RunFactory.running());
      const waiting = track(sut.waitForEnd(TENANT, RUN_ID, 60_000));
      await flush();

      mocks.hub.publish(EventFactory.completed(3, OTHER_RUN_ID));
      await flush();

      expect(waiting.settled()).toBe(false);
      mocks.hub.publish(EventFactory.completed(3));
      await waiting.promise;
    });

    it('should answer the run as stored once the timeout runs out', async () => {
      mocks.runs.seed(RunFactory.running());

      expect(await sut.waitForEnd(TENANT, RUN_ID, 10)).toMatchObject({ id: RUN_ID, status: 'running' });
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should answer 404 for an unknown run and stop listening', async () => {
      await expect(sut.waitForEnd(TENANT, RUN_ID, 60_000)).rejects.toMatchObject({ status: 404, code: 'not_found' });
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });
  });

  describe('cancel', () => {
    describe('a queued run', () => {
      let answer: Run;

      beforeEach(async () => {
        mocks.runs.seed(RunFactory.queued());
        mocks.eventLog.seed(EventFactory.queued());
        answer = await sut.cancel(TENANT, RUN_ID, 'user asked', 'api-key:ops');
      });

      it('should cancel it in the database, from queued (or waiting for input) only', () => {
        expect(mocks.runs.markCancelledCalls).toEqual(cancelledFromQueuedOrWaiting(RUN_ID, { code: 'cancelled', message: 'user asked' }));
      });

      it('should answer the cancelled run', () => {
        expect(answer).toMatchObject({
          id: RUN_ID,
          status: 'cancelled',
          error: { code: 'cancelled', message: 'user asked' },
          finished_at: expect.stringMatching(/Z$/),
        });
      });

      it('should append run.cancelled with the next seq', () => {
        expect(mocks.eventLog.eventsOf(RUN_ID)).toEqual([
          EventFactory.queued(),
          {
            id: runEventId(RUN_ID, 2),
            run_id: RUN_ID,
            agent_id: AGENT_ID,
            tenant_id: TENANT,
            seq: 2,
            ts: answer.finished_at,
            type: 'run.cancelled',
            data: { reason: 'user asked', by: 'api-key:ops' },
          },
        ]);
      });

      it('should archive the log, let it expire and then free the slot', () => {
        expect(mocks.archive.rows).toEqual(mocks.eventLog.eventsOf(RUN_ID));
        expect(mocks.eventLog.ttls.get(RUN_ID)).toBe(TTL_SECONDS);
        expect(mocks.dispatcher.released).toEqual([{ agentId: AGENT_ID, runId: RUN_ID }]);
        expect(mocks.journal).toEqual([
          // From waiting_input (it is not), then from queued.
          'runs.markCancelled',
          'runs.markCancelled',
          'eventLog.append run.cancelled',
          'archive.append',
          'eventLog.expire',
          'dispatcher.release',
        ]);
      });

      it('should not bother any coordinator', () => {
        expect(mocks.cancellation.requests).toEqual([]);
      });
    });

    it('should continue after the last event of a longer log', async () => {
      mocks.runs.seed(RunFactory.queued());
      mocks.eventLog.seed(...eventsOf(RUN_ID, 3));

      await sut.cancel(TENANT, RUN_ID, 'r', 'api');

      expect(mocks.eventLog.eventsOf(RUN_ID).at(-1)).toMatchObject({ seq: 4, type: 'run.cancelled' });
    });

    describe('a running run', () => {
      beforeEach(() => {
        mocks.runs.seed(RunFactory.running());
        mocks.eventLog.seed(...eventsOf(RUN_ID, 2));
      });

      it('should ask its coordinator to cancel it and answer the run once it ends', async () => {
        mocks.cancellation.onRequest = () =>
          setTimeout(() => {
            mocks.runs.setStatus(RUN_ID, { status: 'cancelled', error: { code: 'cancelled', message: 'user asked' } });
            mocks.hub.publish(EventFactory.cancelled(3));
          }, 5);

        const answer = await sut.cancel(TENANT, RUN_ID, 'user asked', 'api');

        expect(mocks.cancellation.requests).toEqual([{ runId: RUN_ID, reason: 'user asked' }]);
        expect(answer).toMatchObject({ status: 'cancelled' });
      });

      it('should leave the run, its log and its slot to the coordinator', async () => {
        await sut.cancel(TENANT, RUN_ID, 'user asked', 'api', 5);

        expect(mocks.runs.markCancelledCalls).toEqual([expect.objectContaining({ from: ['waiting_input'] }), expect.objectContaining({ from: ['queued'] })]);
        expect(mocks.eventLog.eventsOf(RUN_ID)).toHaveLength(2);
        expect(mocks.archive.rows).toEqual([]);
        expect(mocks.dispatcher.released).toEqual([]);
      });

      it('should answer the run as it stands when the coordinator has not ended it within the wait', async () => {
        expect(await sut.cancel(TENANT, RUN_ID, 'user asked', 'api', 5)).toMatchObject({ status: 'running' });
      });
    });

    it.each(TERMINAL_RUN_STATUSES)('should answer 409 conflict for a %s run and change nothing', async (status) => {
      mocks.runs.seed(RunFactory.create({ status }));

      const error = await rejectionOf(sut.cancel(TENANT, RUN_ID, 'r', 'api'));

      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 409, code: 'conflict', message: `run ${RUN_ID} already ${status}` });
      expect(mocks.journal).toEqual([]);
    });

    it('should answer 404 for an unknown run', async () => {
      await expect(sut.cancel(TENANT, RUN_ID, 'r', 'api')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  describe('cancelAll', () => {
    it('should cancel queued runs at once and ask coordinators to cancel running ones', async () => {
      mocks.runs.seed(RunFactory.queued({ id: RUN_ID }));
      mocks.runs.seed(RunFactory.running({ id: OTHER_RUN_ID }));
      mocks.runs.seed(RunFactory.create({ id: THIRD_RUN_ID, status: 'completed' }));
      mocks.eventLog.seed(EventFactory.queued(RUN_ID));

      await sut.cancelAll(TENANT, AGENT_ID, 'agent deleted', 'api');

      expect(mocks.runs.stored(RUN_ID)?.status).toBe('cancelled');
      expect(mocks.eventLog.eventsOf(RUN_ID).at(-1)).toMatchObject({ type: 'run.cancelled', data: { reason: 'agent deleted', by: 'api' } });
      expect(mocks.cancellation.requests).toEqual([{ runId: OTHER_RUN_ID, reason: 'agent deleted' }]);
      expect(mocks.runs.stored(THIRD_RUN_ID)?.status).toBe('completed');
    });

    it("should leave other agents' runs alone", async () => {
      mocks.agents.seed(AgentFactory.create({ id: OTHER_AGENT_ID }));
      mocks.runs.seed(RunFactory.queued({ agent_id: OTHER_AGENT_ID }));

      await sut.cancelAll(TENANT, AGENT_ID, 'agent deleted', 'api');

      expect(mocks.runs.stored(RUN_ID)?.status).toBe('queued');
      expect(mocks.journal).toEqual([]);
    });

    it('should answer 404 for an unknown agent', async () => {
      await expect(sut.cancelAll(TENANT, OTHER_AGENT_ID, 'r', 'api')).rejects.toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  describe('get', () => {
    it('should return the stored run', async () => {
      const run = RunFactory.create();
      mocks.runs.seed(run);

      expect(await sut.get(TENANT, RUN_ID)).toEqual(run);
    });

    it('should answer 404 for an unknown run', async () => {
      await expect(sut.get(TENANT, RUN_ID)).rejects.toMatchObject({ status: 404, code: 'not_found', message: `run ${RUN_ID} not found` });
    });

    it("should answer 404 for another tenant's run", async () => {
      mocks.runs.seed(RunFactory.create());

      await expect(sut.get('other-tenant', RUN_ID)).rejects.toMatchObject({ status: 404 });
    });
  });

  describe('listByAgent', () => {
    it("should return the agent's runs, newest first, up to the limit", async () => {
      mocks.runs.seed(RunFactory.create({ id: RUN_ID, created_at: '2025-06-01T12:00:00.000Z' }));
      mocks.runs.seed(RunFactory.create({ id: OTHER_RUN_ID, created_at: '2025-06-01T12:00:02.000Z' }));
      mocks.runs.seed(RunFactory.create({ id: THIRD_RUN_ID, created_at: '2025-06-01T12:00:01.000Z' }));

      const page = await sut.listByAgent(TENANT, AGENT_ID, { limit: 2 });

      expect(page.items.map((run) => run.id)).toEqual([OTHER_RUN_ID, THIRD_RUN_ID]);
    });

    it('should continue after next_cursor and end with a null cursor', async () => {
      mocks.runs.seed(RunFactory.create({ id: RUN_ID, created_at: '2025-06-01T12:00:00.000Z' }));
      mocks.runs.seed(RunFactory.create({ id: OTHER_RUN_ID, created_at: '2025-06-01T12:00:02.000Z' }));
      mocks.runs.seed(RunFactory.create({ id: THIRD_RUN_ID, created_at: '2025-06-01T12:00:01.000Z' }));

      const first = await sut.listByAgent(TENANT, AGENT_ID, { limit: 2 });
      const second = await sut.listByAgent(TENANT, AGENT_ID, { limit: 2, cursor: first.next_cursor ?? undefined });

      expect(first.next_cursor).not.toBeNull();
      expect(second).toEqual({ items: [expect.objectContaining({ id: RUN_ID })], next_cursor: null });
    });

    it('should answer 400 for a cursor it did not hand out', async () => {
      await expect(sut.listByAgent(TENANT, AGENT_ID, { limit: 2, cursor: 'bm9wZQ' })).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
    });

    it('should answer 404 for an unknown agent', async () => {
      await expect(sut.listByAgent(TENANT, OTHER_AGENT_ID, { limit: 10 })).rejects.toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  describe('events', () => {
    function seedRun(overrides: Partial<Run> = {}): Run {
      const run = RunFactory.create(overrides);
      mocks.runs.seed(run);
      return run;
    }

    it('should read a finished run from the archive', async () => {
      seedRun({ status: 'completed' });
      mocks.archive.rows.push(...eventsOf(RUN_ID, 2), EventFactory.completed(3));
      mocks.eventLog.seed(...eventsOf(RUN_ID, 5));

      const page = await sut.events(TENANT, RUN_ID, undefined, 10);

      expect(page.items.map((event) => event.seq)).toEqual([1, 2, 3]);
      expect(mocks.archive.listCalls).toEqual([{ runId: RUN_ID, afterSeq: 0, limit: 10 }]);
      expect(mocks.eventLog.readCalls).toEqual([]);
    });

    it('should fall back to the Redis log when the archive is empty', async () => {
      seedRun({ status: 'failed', error: { code: 'agent_error', message: 'x' } });
      const logged = [...eventsOf(RUN_ID, 2), EventFactory.failed(3, true)];
      mocks.eventLog.seed(...logged);

      const page = await sut.events(TENANT, RUN_ID, undefined, 10);

      expect(page.items).toEqual(logged);
      expect(mocks.eventLog.readCalls).toEqual([{ runId: RUN_ID, options: { afterSeq: 0, limit: 10 } }]);
    });

    describe('of a finished run whose log does not hold its final event yet', () => {
      beforeEach(() => {
        seedRun({ status: 'completed' });
        mocks.eventLog.seed(...eventsOf(RUN_ID, 2));
      });

      it('should wait for the final event and answer it', async () => {
        const reading = sut.events(TENANT, RUN_ID, undefined, 10);
        await flush();
        const completed = EventFactory.completed(3);
        mocks.eventLog.seed(completed);
        mocks.hub.publish(completed);

        expect((await reading).items.map((event) => event.type)).toEqual(['run.queued', 'run.started', 'run.completed']);
      });

      it('should answer what is logged once the short wait is over when no final event comes', async () => {
        const started = performance.now();

        const page = await sut.events(TENANT, RUN_ID, undefined, 10);

        expect(page.items).toEqual(eventsOf(RUN_ID, 2));
        expect(performance.now() - started).toBeGreaterThanOrEqual(400);
        expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
      });

      it('should not wait when the page is full (the final event is on a later page)', async () => {
        const page = await sut.events(TENANT, RUN_ID, undefined, 2);

        expect(page.next_after).toBe(runEventId(RUN_ID, 2));
        expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
      });
    });

    it('should not wait for a final event when the Redis log has expired', async () => {
      seedRun({ status: 'completed' });
      mocks.archive.rows.push(...eventsOf(RUN_ID, 2), EventFactory.completed(3));
      const started = performance.now();

      const page = await sut.events(TENANT, RUN_ID, runEventId(RUN_ID, 3), 10);

      expect(page.items).toEqual([]);
      expect(performance.now() - started).toBeLessThan(300);
    });

    it.each(['queued', 'running'] as const)('should read a %s run from the Redis log only', async (status) => {
      seedRun({ status });
      mocks.archive.rows.push(...eventsOf(RUN_ID, 3));
      mocks.eventLog.seed(...eventsOf(RUN_ID, 2));

      const page = await sut.events(TENANT, RUN_ID, undefined, 10);

      expect(page.items).toHaveLength(2);
      expect(mocks.archive.listCalls).toEqual([]);
    });

    it('should start after the seq of the given event id', async () => {
      seedRun();
      mocks.archive.rows.push(...eventsOf(RUN_ID, 5));

      const page = await sut.events(TENANT, RUN_ID, runEventId(RUN_ID, 2), 10);

      expect(page.items.map((event) => event.seq)).toEqual([3, 4, 5]);
      expect(mocks.archive.listCalls[0]).toMatchObject({ afterSeq: 2 });
    });

    it('should answer 400 for an after id of another run', async () => {
      seedRun();
      mocks.archive.rows.push(...eventsOf(RUN_ID, 3));

      const error = await rejectionOf(sut.events(TENANT, RUN_ID, runEventId(OTHER_RUN_ID, 1), 10));

      expect(error).toBeInstanceOf(ApiError);
      expect(error).toMatchObject({ status: 400, code: 'validation_failed', message: 'after must be an event id of this run' });
      expect(mocks.archive.listCalls).toEqual([]);
    });

    it('should set next_after to the last id when the page is full', async () => {
      seedRun();
      mocks.archive.rows.push(...eventsOf(RUN_ID, 5));

      const page = await sut.events(TENANT, RUN_ID, undefined, 2);

      expect(page).toEqual({ items: eventsOf(RUN_ID, 2), next_after: runEventId(RUN_ID, 2) });
    });

    it('should leave next_after null when the page is not full', async () => {
      seedRun();
      mocks.archive.rows.push(...eventsOf(RUN_ID, 3));

      expect((await sut.events(TENANT, RUN_ID, undefined, 5)).next_after).toBeNull();
    });

    it('should leave next_after null for an empty page', async () => {
      seedRun({ status: 'running' });

      expect(await sut.events(TENANT, RUN_ID, undefined, 5)).toEqual({ items: [], next_after: null });
    });

    it('should answer 404 for an unknown run', async () => {
      await expect(sut.events(TENANT, RUN_ID, undefined, 5)).rejects.toMatchObject({ status: 404, code: 'not_found' });
    });

    it('should answer 503 redis_unavailable when the Redis log of a live run cannot be read', async () => {
      seedRun({ status: 'running' });
      const failure = new Error('Connection is closed.');
      mocks.eventLog.readFailure = failure;

      // The exception filter writes the request's one warning line, naming the cause.
      await expect(sut.events(TENANT, RUN_ID, undefined, 5)).rejects.toMatchObject({ status: 503, code: 'redis_unavailable', cause: failure });
      expect(mocks.lines).toEqual([]);
    });

    it('should answer 503 redis_unavailable for the first page of a finished run not archived yet while Redis is down', async () => {
      seedRun({ status: 'completed' });
      mocks.eventLog.readFailure = new Error('Connection is closed.');

      await expect(sut.events(TENANT, RUN_ID, undefined, 5)).rejects.toMatchObject({ status: 503, code: 'redis_unavailable' });
    });

    it('should answer an empty page, not 503, when paging past the end of a finished run while Redis is down', async () => {
      seedRun({ status: 'completed' });
      mocks.archive.rows.push(...eventsOf(RUN_ID, 3));
      mocks.eventLog.readFailure = new Error('Connection is closed.');

      expect(await sut.events(TENANT, RUN_ID, runEventId(RUN_ID, 3), 5)).toEqual({ items: [], next_after: null });
    });

    it('should answer 503 database_unavailable when the archive cannot be reached', async () => {
      seedRun();
      mocks.archive.listFailure = withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED');

      await expect(sut.events(TENANT, RUN_ID, undefined, 5)).rejects.toMatchObject({ status: 503, code: 'database_unavailable' });
    });
  });

  describe('follow', () => {
    let sent: RunEventV1[];
    let controller: AbortController;

    beforeEach(() => {
      sent = [];
      controller = new AbortController();
    });

    function follow(afterSeq = 0, options: { untilWaiting?: boolean } = {}): Promise<void> {
      return sut.follow(TENANT, RUN_ID, afterSeq, (event) => sent.push(event), controller.signal, options);
    }

    const seqs = () => sent.map((event) => event.seq);

    it('should send the backlog, then live events without duplicates, and stop after the terminal event', async () => {
      mocks.runs.seed(RunFactory.running());
      mocks.eventLog.seed(...eventsOf(RUN_ID, 2));
      const following = track(follow());
      await flush();

      expect(seqs()).toEqual([1, 2]);
      mocks.hub.publish(EventFactory.started(2), EventFactory.failed(3, false), EventFactory.started(3), EventFactory.started(4));
      await flush();
      expect(seqs()).toEqual([1, 2, 3, 4]);
      expect(following.settled()).toBe(false);

      mocks.hub.publish(EventFactory.completed(5));
      await following.promise;

      expect(sent.map((event) => event.type)).toEqual(['run.queued', 'run.started', 'run.failed', 'run.started', 'run.completed']);
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should send events heard while the backlog is read once, in seq order', async () => {
      mocks.runs.seed(RunFactory.running());
      mocks.eventLog.seed(...eventsOf(RUN_ID, 2));
      mocks.eventLog.afterRead = (readNumber) => {
        if (readNumber !== 1) return;
        mocks.eventLog.seed(EventFactory.started(3));
        mocks.hub.publish(EventFactory.completed(5), EventFactory.started(4), EventFactory.started(2), EventFactory.started(3));
      };

      await follow();

      expect(seqs()).toEqual([1, 2, 3, 4, 5]);
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should start after afterSeq', async () => {
      mocks.runs.seed(RunFactory.running());
      mocks.eventLog.seed(...eventsOf(RUN_ID, 3));

      const following = follow(2);
      await flush();
      mocks.hub.publish(EventFactory.completed(4));
      await following;

      expect(seqs()).toEqual([3, 4]);
    });

    it('should read a finished run from the archive and stop at its terminal event without waiting', async () => {
      mocks.runs.seed(RunFactory.create({ status: 'cancelled' }));
      mocks.archive.rows.push(...eventsOf(RUN_ID, 2), EventFactory.cancelled(3));

      await follow();

      expect(seqs()).toEqual([1, 2, 3]);
      expect(mocks.eventLog.readCalls).toEqual([]);
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should stop after the backlog of a finished run whose log never logged an end', async () => {
      mocks.runs.seed(RunFactory.create({ status: 'failed', error: { code: 'enqueue_failed', message: 'queue down' } }));
      mocks.eventLog.seed(EventFactory.queued());

      await follow();

      expect(seqs()).toEqual([1]);
    });

    it('should pick up the tail of a run that finished while its backlog was read', async () => {
      mocks.runs.seed(RunFactory.running());
      mocks.eventLog.seed(...eventsOf(RUN_ID, 2));
      mocks.eventLog.afterRead = (readNumber) => {
        if (readNumber !== 2) return;
        // Ended and archived without the hub hearing it (a missed stream entry).
        mocks.runs.setStatus(RUN_ID, { status: 'completed' });
        mocks.archive.rows.push(...eventsOf(RUN_ID, 2), EventFactory.completed(3));
      };

      await follow();

      expect(seqs()).toEqual([1, 2, 3]);
    });

    it('should stop when the signal aborts', async () => {
      mocks.runs.seed(RunFactory.running());
      mocks.eventLog.seed(EventFactory.queued());
      const following = follow();
      await flush();

      controller.abort();
      await following;

      expect(seqs()).toEqual([1]);
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should follow a run through its wait for input by default', async () => {
      mocks.runs.seed(RunFactory.running());
      mocks.eventLog.seed(...eventsOf(RUN_ID, 2));
      const following = track(follow());
      await flush();

      mocks.hub.publish(EventFactory.waiting(3));
      await flush();
      expect(following.settled()).toBe(false);
      mocks.hub.publish(EventFactory.resumed(4), EventFactory.started(5), EventFactory.completed(6));
      await following.promise;

      expect(seqs()).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('should stop at a live run.waiting_input with untilWaiting', async () => {
      mocks.runs.seed(RunFactory.running());
      mocks.eventLog.seed(...eventsOf(RUN_ID, 2));
      const following = track(follow(0, { untilWaiting: true }));
      await flush();

      mocks.hub.publish(EventFactory.waiting(3), EventFactory.resumed(4));
      await following.promise;

      expect(seqs()).toEqual([1, 2, 3]);
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should stop after the backlog of a run that waits now with untilWaiting, and pass over a wait it was resumed from', async () => {
      mocks.runs.seed(RunFactory.create({ status: 'waiting_input', output: null, finished_at: null }));
      mocks.eventLog.seed(...eventsOf(RUN_ID, 2), EventFactory.waiting(3), EventFactory.resumed(4), EventFactory.started(5), EventFactory.waiting(6));

      await follow(0, { untilWaiting: true });

      expect(seqs()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(mocks.hub.listenerCount(RUN_ID)).toBe(0);
    });

    it('should answer 404 for an unknown run', async () => {
      await expect(follow()).rejects.toMatchObject({ status: 404, code: 'not_found' });
      expect(sent).toEqual([]);
    });
  });
});

/** The hash submit stores beside a run for a request, as observed through a throwaway service. */
async function requestHashOf(input: JsonValue, idempotencyKey: string): Promise<string | null> {
  const { sut, mocks } = newTestService();
  const { run } = await sut.submit(TENANT, AGENT_ID, input, { idempotencyKey });
  return mocks.runs.rows.get(run.id)?.requestHash ?? null;
}
