import type { Admission } from '@skreaver/messaging';
import type { RunEventLog } from '@skreaver/messaging';
import type { RunRepository } from '@skreaver/persistence';
import { FIXTURE_IDS, InMemoryRunEventLog, InMemoryRunRepository, agentFixture, runFixture } from '@skreaver/testing';
import type { PendingInput, Run } from '@skreaver/contracts';

import type { RunDispatcher } from './run-dispatcher';
import { InvalidAnswerError, ResumeConflictError, RunResumer } from './run-resumer';

const RUN_ID = FIXTURE_IDS.run;
const THREAD_ID = '5c0de7a1-2b3c-4d5e-8f90-a1b2c3d4e5f6';
const LATER = new Date(Date.now() + 3_600_000).toISOString();
const EARLIER = new Date(Date.now() - 1_000).toISOString();

/** The dispatcher calls a resume makes, in order. */
class ResumeDispatcher {
  readonly calls: string[] = [];
  admission: Admission = { outcome: 'start' };

  async forgetFinishedJob(runId: string): Promise<boolean> {
    this.calls.push(`forget:${runId}`);
    return true;
  }

  async readmit(_agent: unknown, runId: string): Promise<Admission> {
    this.calls.push(`readmit:${runId}`);
    return this.admission;
  }

  async enqueue(_agent: unknown, runId: string, attempts?: number): Promise<void> {
    this.calls.push(`enqueue:${runId}:${attempts}`);
  }
}

function setUp(pending: PendingInput[], overrides: Partial<Run> = {}) {
  const journal: string[] = [];
  const runs = new InMemoryRunRepository(journal);
  const eventLog = new InMemoryRunEventLog(journal);
  const dispatcher = new ResumeDispatcher();
  const run = runFixture({ status: 'waiting_input', attempts: 1, pending_inputs: pending, ...overrides });
  runs.seed(run);
  const threads = { setStatus: async (id: string, status: string) => (dispatcher.calls.push(`thread:${id}:${status}`), true) };
  const sut = new RunResumer(runs as unknown as RunRepository, eventLog as unknown as RunEventLog, dispatcher as unknown as RunDispatcher, 3, threads);
  return { sut, runs, eventLog, dispatcher, run, agent: agentFixture() };
}

const cityInput: PendingInput = { id: 'input_1', kind: 'input', prompt: 'Which city?', schema: { type: 'string', minLength: 2 }, expires_at: LATER };

describe(RunResumer.name, () => {
  it('should store the answers, log run.resumed and requeue the same run with the attempts it has left', async () => {
    const { sut, runs, eventLog, dispatcher, run, agent } = setUp([cityInput]);

    const resumed = await sut.resume(agent, run, { input_1: 'Paris' }, 'key:ops');

    expect(resumed).toMatchObject({ id: RUN_ID, status: 'queued', pending_inputs: [] });
    expect(runs.stored(RUN_ID)).toMatchObject({ status: 'queued', pending_inputs: [] });
    expect(await runs.inputAnswers(RUN_ID)).toEqual({ input_1: 'Paris' });
    expect(eventLog.eventsOf(RUN_ID).map((event) => [event.type, event.data])).toEqual([['run.resumed', { input_ids: ['input_1'], by: 'key:ops' }]]);
    expect(dispatcher.calls).toEqual([`forget:${RUN_ID}`, `readmit:${RUN_ID}`, `enqueue:${RUN_ID}:2`]);
  });

  it('should set a thread run\'s thread busy before the run is on its way again (it may end at once)', async () => {
    const { sut, dispatcher, run, agent } = setUp([cityInput], { thread_id: THREAD_ID });

    await sut.resume(agent, run, { input_1: 'Paris' }, 'key:ops');

    expect(dispatcher.calls).toEqual([`thread:${THREAD_ID}:busy`, `forget:${RUN_ID}`, `readmit:${RUN_ID}`, `enqueue:${RUN_ID}:2`]);
  });

  it('should not enqueue a run that must wait for a slot (the run freeing one does)', async () => {
    const { sut, dispatcher, run, agent } = setUp([cityInput]);
    dispatcher.admission = { outcome: 'queued', position: 1 };

    await sut.resume(agent, run, { input_1: 'Paris' }, 'key:ops');

    expect(dispatcher.calls).toEqual([`forget:${RUN_ID}`, `readmit:${RUN_ID}`]);
  });

  it.each([
    ['a run that is not waiting', [cityInput], { status: 'running' as const }, { input_1: 'Paris' }, 'run_not_waiting'],
    ['an input it does not wait for', [cityInput], {}, { input_1: 'Paris', input_2: 'x' }, 'input_unknown'],
    ['an expired input', [{ ...cityInput, expires_at: EARLIER }], {}, { input_1: 'Paris' }, 'input_expired'],
  ])('should refuse %s with 409 and change nothing', async (_label, pending, overrides, answers, code) => {
    const { sut, runs, eventLog, dispatcher, run, agent } = setUp(pending, overrides);

    const error = await sut.resume(agent, run, answers, 'key:ops').catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ResumeConflictError);
    expect(error).toMatchObject({ code });
    expect(runs.stored(RUN_ID)?.status).toBe(run.status);
    expect(eventLog.eventsOf(RUN_ID)).toEqual([]);
    expect(dispatcher.calls).toEqual([]);
  });

  it('should refuse an input answered before (409 input_already_answered)', async () => {
    const second: PendingInput = { id: 'input_2', kind: 'input', prompt: 'When?', expires_at: LATER };
    const { sut, runs, run, agent } = setUp([second]);
    runs.answers.set(RUN_ID, { input_1: 'Paris' });

    await expect(sut.resume(agent, run, { input_1: 'Rome' }, 'key:ops')).rejects.toMatchObject({ code: 'input_already_answered' });
    await sut.resume(agent, run, { input_2: 'tomorrow' }, 'key:ops');
    expect(await runs.inputAnswers(RUN_ID)).toEqual({ input_1: 'Paris', input_2: 'tomorrow' });
  });

  it('should refuse answers its schema does not accept, and pending inputs left unanswered (422)', async () => {
    const other: PendingInput = { id: 'input_2', kind: 'approval', prompt: 'Allow?', tool: 'math', expires_at: LATER };
    const { sut, run, agent } = setUp([cityInput, other]);

    const error = (await sut.resume(agent, run, { input_1: 'P' }, 'key:ops').catch((caught: unknown) => caught)) as InvalidAnswerError;

    expect(error).toBeInstanceOf(InvalidAnswerError);
    expect(error.issues).toEqual([
      { input_id: 'input_1', path: '', message: expect.any(String) },
      { input_id: 'input_2', path: '', message: 'no answer given; every pending input must be answered' },
    ]);
  });

  it('should accept an expired input when the sweeper answers it with its default', async () => {
    const { sut, run, agent } = setUp([{ ...cityInput, expires_at: EARLIER, default: 'Oslo' }]);

    await expect(sut.resume(agent, run, { input_1: 'Oslo' }, 'input_timeout_default', { acceptExpired: true })).resolves.toMatchObject({ status: 'queued' });
  });

  it('should lose a race to another resume with 409 run_not_waiting', async () => {
    const { sut, runs, run, agent } = setUp([cityInput]);
    runs.setStatus(RUN_ID, { status: 'queued' });

    await expect(sut.resume(agent, run, { input_1: 'Paris' }, 'key:ops')).rejects.toMatchObject({ code: 'run_not_waiting' });
  });

  describe('approvals', () => {
    const approval: PendingInput = { id: 'input_3', kind: 'approval', prompt: 'Allow?', tool: 'http_request', tool_input: { url: 'x' }, expires_at: LATER };

    it('should decide every pending approval', () => {
      const { sut, run } = setUp([approval]);

      expect(sut.approvals(run, false, 'no')).toEqual({ input_3: { approved: false, reason: 'no' } });
      expect(sut.approvals(run, true)).toEqual({ input_3: { approved: true } });
    });

    it('should refuse a decision when no approval is pending (409 input_unknown)', () => {
      const { sut, run } = setUp([cityInput]);

      expect(() => sut.approvals(run, true)).toThrow(expect.objectContaining({ code: 'input_unknown' }));
    });

    it('should refuse an answer that is not a decision (422)', async () => {
      const { sut, run, agent } = setUp([approval]);

      await expect(sut.resume(agent, run, { input_3: 'yes' }, 'key:ops')).rejects.toBeInstanceOf(InvalidAnswerError);
    });
  });
});
