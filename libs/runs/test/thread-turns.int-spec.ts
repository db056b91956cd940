import type { Agent, Run, Thread, ThreadMessage } from '@skreaver/contracts';
import { AgentRepository, RunRepository, ThreadRepository, createDataSource } from '@skreaver/persistence';
import { DATABASE_KINDS, agentFixture, isolatedDatabase, runFixture } from '@skreaver/testing';
import type { IsolatedDatabase } from '@skreaver/testing';
import { newId, nowIso } from '@skreaver/util';
import type { DataSource } from 'typeorm';

import { ThreadTurns } from '../src';

const turn = (text: string): ThreadMessage[] => [
  { role: 'user', content: text },
  { role: 'assistant', content: text },
];

// The executor's thread side against a real database: what an attempt sees, what a completed run records, and what
// a retried run sees when its first attempt recorded its turn but died before the run's result was stored.
describe.each(DATABASE_KINDS)('ThreadTurns on %s', (kind) => {
  let db: IsolatedDatabase;
  let dataSource: DataSource;
  let threads: ThreadRepository;
  let runs: RunRepository;
  let agent: Agent;
  const turns = () => new ThreadTurns(threads, { THREAD_MAX_MESSAGES: 4, THREAD_MAX_BYTES: 1_000_000 });

  beforeAll(async () => {
    db = await isolatedDatabase(kind, 'runs-thread-turns');
    dataSource = createDataSource({ databaseUrl: db.url, dataDir: db.dataDir, poolSize: 2, runMigrations: true });
    await dataSource.initialize();
    await dataSource.runMigrations();
    threads = new ThreadRepository(dataSource);
    runs = new RunRepository(dataSource);
    agent = await new AgentRepository(dataSource).insert(agentFixture({ id: newId() }));
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await db?.cleanup();
  });

  async function newThread(overrides: Partial<Thread> = {}, messages: ThreadMessage[] = []): Promise<Thread> {
    const now = nowIso();
    const stored = await threads.insert({
      thread: {
        id: newId(),
        tenant_id: agent.tenant_id,
        agent_id: agent.id,
        status: 'idle',
        metadata: {},
        double_texting: null,
        state: null,
        message_count: messages.length,
        turns: 0,
        forked_from: null,
        created_at: now,
        updated_at: now,
        ...overrides,
      },
      messages,
    });
    return stored.thread;
  }

  const newRun = (thread: Thread, input: string, overrides: Partial<Run> = {}) =>
    runs.insert(runFixture({ id: newId(), tenant_id: agent.tenant_id, agent_id: agent.id, thread_id: thread.id, input, created_at: nowIso(), ...overrides }));

  /** One completed turn: opened, the agent appends nothing (the platform records input and output), recorded. */
  async function complete(run: Run): Promise<void> {
    const opened = await turns().open(run);
    if (!opened) throw new Error('no thread');
    await turns().completed(run, opened, run.input, run.input);
    await runs.markCompleted(run.id, run.input, nowIso());
  }

  it('should record turns trimmed to the policy, and leave the thread idle once no run of it is open', async () => {
    const thread = await newThread();
    for (const text of ['one', 'two', 'three']) await complete(await newRun(thread, text));

    const stored = await threads.findById(agent.tenant_id, thread.id);
    expect(stored).toMatchObject({ thread: { turns: 3, message_count: 4, status: 'idle' }, messages: [...turn('two'), ...turn('three')] });
    const opened = await turns().open(await newRun(thread, 'four'));
    expect(opened).toMatchObject({ turn: 4, history: [...turn('two'), ...turn('three')], state: null });
  });

  it('should show a retried run whose turn is recorded the thread as its first attempt saw it, and record nothing twice', async () => {
    const thread = await newThread();
    await complete(await newRun(thread, 'one'));
    const second = await newRun(thread, 'two');
    const first = await turns().open(second);
    if (!first) throw new Error('no thread');
    first.setState({ seen: 2 });
    await turns().completed(second, first, 'two', 'two');
    // Its process died here, before the run's result was stored: the run is attempted again.
    const retried = await turns().open({ ...second, status: 'running', attempts: 1 });

    expect(retried).toMatchObject({ turn: 2, history: turn('one'), state: null });
    if (!retried) throw new Error('no thread');
    retried.setState({ seen: 'again' });
    await turns().completed(second, retried, 'two', 'two');
    expect(await threads.findById(agent.tenant_id, thread.id)).toMatchObject({ thread: { turns: 2, state: { seen: 2 } }, messages: [...turn('one'), ...turn('two')] });
  });

  it('should show the retried first turn of a fork the checkpoint it was forked from', async () => {
    const origin = await newThread();
    await complete(await newRun(origin, 'one'));
    const [checkpoint] = await threads.history(agent.tenant_id, origin.id, { limit: 1 });
    if (!checkpoint) throw new Error('no checkpoint');
    const fork = await newThread({ turns: 1, forked_from: { thread_id: origin.id, checkpoint_id: checkpoint.id } }, checkpoint.messages);
    const run = await newRun(fork, 'branch');
    await complete(run);

    expect(await turns().open({ ...run, attempts: 1 })).toMatchObject({ turn: 2, history: turn('one') });
  });

  it('should set the thread busy while a run is open and idle, or error after a failure, when none is', async () => {
    const thread = await newThread();
    const first = await newRun(thread, 'a', { status: 'running' });
    const second = await newRun(thread, 'b');
    await turns().started(first);
    expect((await threads.findById(agent.tenant_id, thread.id))?.thread.status).toBe('busy');
    await runs.markFailed(first.id, { code: 'agent_error', message: 'x' }, nowIso());
    await turns().ended({ ...first, status: 'failed' });
    expect((await threads.findById(agent.tenant_id, thread.id))?.thread.status).toBe('busy');
    await runs.markFailed(second.id, { code: 'agent_error', message: 'x' }, nowIso());
    await turns().ended({ ...second, status: 'failed' });
    expect((await threads.findById(agent.tenant_id, thread.id))?.thread.status).toBe('error');
  });
});
