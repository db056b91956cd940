import type { Thread, ThreadMessage } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { AgentRepository, RunRepository, ThreadRepository } from '../src';
import { AgentFactory, RunFactory, at, migratedDatabase } from './persistence-fixtures';

const thread = (agentId: string, overrides: Partial<Thread> = {}): Thread => ({
  id: newId(),
  tenant_id: 'default',
  agent_id: agentId,
  status: 'idle',
  metadata: { user: 'ada' },
  double_texting: null,
  state: null,
  message_count: 0,
  turns: 0,
  forked_from: null,
  created_at: at(0),
  updated_at: at(0),
  ...overrides,
});

const turn = (text: string): ThreadMessage[] => [
  { role: 'user', content: text },
  { role: 'assistant', content: `re: ${text}` },
];

describe.each(DATABASE_KINDS)('ThreadRepository on %s', (kind) => {
  const database = migratedDatabase(kind, 'persistence-threads');
  let threads: ThreadRepository;
  let agents: AgentRepository;
  let runs: RunRepository;

  beforeAll(() => {
    threads = new ThreadRepository(database.dataSource);
    agents = new AgentRepository(database.dataSource);
    runs = new RunRepository(database.dataSource);
  });

  it('should record a turn once per run: conversation, state, turns and a checkpoint with the next step', async () => {
    const agent = await agents.insert(AgentFactory.create());
    const { thread: stored } = await threads.insert({ thread: thread(agent.id), messages: [] });
    const [first, second] = [newId(), newId()];

    const one = await threads.recordTurn(stored.id, { runId: first, messages: turn('a'), state: { n: 1 }, at: at(5) });
    const again = await threads.recordTurn(stored.id, { runId: first, messages: [...turn('a'), ...turn('a')], state: { n: 99 }, at: at(6) });
    const two = await threads.recordTurn(stored.id, { runId: second, messages: [...turn('a'), ...turn('b')], state: { n: 2 }, at: at(7) });

    expect(one).toMatchObject({ run_id: first, step: 1, state: { n: 1 }, messages: turn('a') });
    expect(again).toEqual(one);
    expect(two).toMatchObject({ run_id: second, step: 2, state: { n: 2 } });
    expect(await threads.findById('default', stored.id)).toEqual({
      thread: { ...stored, state: { n: 2 }, turns: 2, message_count: 4, updated_at: at(7) },
      messages: [...turn('a'), ...turn('b')],
    });
    expect((await threads.history('default', stored.id, { limit: 10 })).map((checkpoint) => checkpoint.step)).toEqual([2, 1]);
    expect((await threads.history('default', stored.id, { before: 2, limit: 10 })).map((checkpoint) => checkpoint.step)).toEqual([1]);
    expect(await threads.findCheckpoint('default', stored.id, one?.id ?? '')).toEqual(one);
    expect(await threads.findCheckpoint('other', stored.id, one?.id ?? '')).toBeNull();
    expect(await threads.recordTurn(newId(), { runId: newId(), messages: [], state: null, at: at(8) })).toBeNull();
  });

  it('should keep threads apart by tenant, filter and page them, and delete one with its checkpoints but not its runs', async () => {
    const agent = await agents.insert(AgentFactory.create());
    const older = (await threads.insert({ thread: thread(agent.id, { created_at: at(1) }), messages: [] })).thread;
    const newer = (await threads.insert({ thread: thread(agent.id, { created_at: at(2), status: 'error' }), messages: [] })).thread;
    expect(await threads.findById('other', older.id)).toBeNull();
    expect(await threads.update('other', older.id, { metadata: {}, updated_at: at(3) })).toBeNull();
    expect((await threads.list('default', { agentId: agent.id, limit: 10 })).map((item) => item.id)).toEqual([newer.id, older.id]);
    expect((await threads.list('default', { agentId: agent.id, status: 'error', limit: 10 })).map((item) => item.id)).toEqual([newer.id]);
    expect((await threads.list('default', { agentId: agent.id, limit: 10, before: newer })).map((item) => item.id)).toEqual([older.id]);
    expect(await threads.update('default', older.id, { double_texting: 'reject', updated_at: at(3) })).toMatchObject({ double_texting: 'reject', metadata: { user: 'ada' } });

    const run = await runs.insert(RunFactory.create(agent, { thread_id: older.id, status: 'running' }));
    expect(await threads.countOpenRuns(older.id)).toBe(1);
    expect(await threads.countOpenRuns(older.id, run.id)).toBe(0);
    expect(await threads.listOpenRunIds(older.id)).toEqual([run.id]);
    await threads.recordTurn(older.id, { runId: run.id, messages: turn('x'), state: null, at: at(4) });

    expect(await threads.delete('other', older.id)).toBe(false);
    expect(await threads.delete('default', older.id)).toBe(true);
    expect(await threads.findById('default', older.id)).toBeNull();
    expect(await threads.history('default', older.id, { limit: 10 })).toEqual([]);
    expect(await runs.findById('default', run.id)).toMatchObject({ id: run.id, thread_id: older.id });
  });

  it('should mark a thread waiting_input only while the named run of it waits', async () => {
    const agent = await agents.insert(AgentFactory.create());
    const { thread: stored } = await threads.insert({ thread: thread(agent.id, { status: 'busy' }), messages: [] });
    const run = await runs.insert(RunFactory.create(agent, { thread_id: stored.id, status: 'queued' }));

    // Resumed (queued again) before the write: the thread keeps what the resumed run set.
    expect(await threads.markWaiting(stored.id, run.id, at(1))).toBe(false);
    expect((await threads.findById('default', stored.id))?.thread.status).toBe('busy');

    await runs.markRunning(run.id, 1, at(2));
    expect(await runs.markWaitingInput(run.id, [{ id: 'input_1', kind: 'input', prompt: 'Which city?', expires_at: at(9) }], 0)).toBe(true);
    expect(await threads.markWaiting(stored.id, run.id, at(3))).toBe(true);
    expect((await threads.findById('default', stored.id))?.thread).toMatchObject({ status: 'waiting_input', updated_at: at(3) });
    expect(await threads.markWaiting(stored.id, newId(), at(4))).toBe(false);
  });

  it('should delete an agent\'s threads with the agent', async () => {
    const agent = await agents.insert(AgentFactory.create());
    const { thread: stored } = await threads.insert({ thread: thread(agent.id), messages: turn('hi') });
    await threads.recordTurn(stored.id, { runId: newId(), messages: turn('hi'), state: null, at: at(1) });
    await agents.delete('default', agent.id);
    expect(await threads.findById('default', stored.id)).toBeNull();
  });
});
