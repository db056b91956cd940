import type { Run } from '@skreaver/contracts';
import type { RunEventLog } from '@skreaver/messaging';
import type { RunEventArchive, RunRepository } from '@skreaver/persistence';
import {
  FakeRunCancellation,
  FakeRunDispatcher,
  InMemoryRunEventArchive,
  InMemoryRunEventLog,
  InMemoryRunRepository,
  agentFixture,
} from '@skreaver/testing';

import { QueuedRunCanceller } from '../queued-run-canceller';
import type { RunCancellation } from '../run-cancellation';
import { RunCreator, RunRefusedError } from '../run-creator';
import type { RunGate } from '../run-creator';
import type { RunDispatcher } from '../run-dispatcher';
import { ThreadBusyError, doubleTextingPolicy } from './thread-run-gate';

const THREAD_ID = '7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a';

/** A gate that answers `decision` (or throws it) and journals what it is asked. */
function scriptedGate(journal: string[], decision: 'proceed' | 'hold' | Error, mayRefuse = decision instanceof Error): RunGate & { held: Set<string> } {
  const held = new Set<string>();
  return {
    held,
    mayRefuse,
    async admit(run: Run) {
      journal.push('gate.admit');
      if (decision instanceof Error) throw decision;
      if (decision === 'hold') held.add(run.id);
      return decision;
    },
    async undo() {
      journal.push('gate.undo');
    },
    async holds(run: Run) {
      return held.has(run.id);
    },
  };
}

describe('RunCreator with a RunGate (a thread\'s turn)', () => {
  function setUp() {
    const journal: string[] = [];
    const runs = new InMemoryRunRepository(journal);
    const eventLog = new InMemoryRunEventLog(journal);
    const dispatcher = new FakeRunDispatcher(journal);
    const cancellation = new FakeRunCancellation(journal);
    const canceller = new QueuedRunCanceller(
      runs as unknown as RunRepository,
      eventLog as unknown as RunEventLog,
      new InMemoryRunEventArchive(journal) as unknown as RunEventArchive,
      dispatcher as unknown as RunDispatcher,
      60,
    );
    const creator = new RunCreator(
      runs as unknown as RunRepository,
      eventLog as unknown as RunEventLog,
      dispatcher as unknown as RunDispatcher,
      cancellation as unknown as RunCancellation,
      canceller,
      60,
    );
    return { journal, runs, eventLog, dispatcher, creator, agent: agentFixture() };
  }

  it('should log a held run and leave it without an agent slot or a job: the run before it hands the turn on', async () => {
    const { journal, eventLog, dispatcher, creator, agent } = setUp();
    const gate = scriptedGate(journal, 'hold');

    const { run, created } = await creator.create(agent, 'second input', { source: 'api', threadId: THREAD_ID, gate });

    expect(created).toBe(true);
    expect(run).toMatchObject({ status: 'queued', thread_id: THREAD_ID });
    // Logged before the gate is asked: once held, the run may be handed the turn (and started) at any moment.
    expect(journal).toEqual(['runs.insert', 'eventLog.append run.queued', 'gate.admit']);
    expect(eventLog.eventsOf(run.id).map((event) => event.type)).toEqual(['run.queued']);
    expect(dispatcher.admitted).toEqual([]);
    expect(dispatcher.enqueued).toEqual([]);
  });

  it('should admit a run the gate lets through to its agent and enqueue it, logging run.queued once', async () => {
    const { journal, eventLog, dispatcher, creator, agent } = setUp();

    const { run } = await creator.create(agent, 'first input', { source: 'api', threadId: THREAD_ID, gate: scriptedGate(journal, 'proceed') });

    expect(journal).toEqual(['runs.insert', 'eventLog.append run.queued', 'gate.admit', 'dispatcher.admit', 'dispatcher.enqueue']);
    expect(eventLog.eventsOf(run.id)).toHaveLength(1);
    expect(dispatcher.enqueued).toEqual([run.id]);
  });

  it('should leave nothing behind when the gate refuses the run: no row, no event, the gate\'s hold undone', async () => {
    const { journal, runs, dispatcher, creator, agent } = setUp();
    const refusal = new ThreadBusyError(THREAD_ID);

    const attempt = creator.create(agent, 'double text', { source: 'api', threadId: THREAD_ID, gate: scriptedGate(journal, refusal) });

    await expect(attempt).rejects.toBe(refusal);
    expect(refusal).toBeInstanceOf(RunRefusedError);
    expect(journal).toEqual(['runs.insert', 'gate.admit', 'runs.delete', 'gate.undo']);
    expect(runs.rows.size).toBe(0);
    expect(dispatcher.admitted).toEqual([]);
  });

  it('should not admit a held run to its agent when a retried request (same Idempotency-Key) finds it', async () => {
    const { journal, dispatcher, creator, agent } = setUp();
    const gate = scriptedGate(journal, 'hold');
    const options = { source: 'api' as const, threadId: THREAD_ID, gate, idempotencyKey: 'k-1', requestHash: 'h-1' };
    const first = await creator.create(agent, 'x', options);

    const again = await creator.create(agent, 'x', options);

    expect(again).toEqual({ run: first.run, created: false });
    expect(dispatcher.admitted).toEqual([]);
  });
});

describe('doubleTextingPolicy', () => {
  it('should follow the thread\'s own policy, else the agent\'s, with parallel counted as enqueue', () => {
    const agent = (policy: 'enqueue' | 'reject' | 'interrupt' | 'parallel') => ({ concurrency: { policy, max_concurrency: policy === 'parallel' ? 4 : 1 } });
    expect(doubleTextingPolicy(agent('parallel'), { double_texting: 'reject' })).toBe('reject');
    expect(doubleTextingPolicy(agent('reject'), { double_texting: null })).toBe('reject');
    expect(doubleTextingPolicy(agent('interrupt'), { double_texting: null })).toBe('interrupt');
    expect(doubleTextingPolicy(agent('enqueue'), { double_texting: null })).toBe('enqueue');
    expect(doubleTextingPolicy(agent('parallel'), { double_texting: null })).toBe('enqueue');
  });
});
