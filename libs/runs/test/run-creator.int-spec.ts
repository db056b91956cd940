import { Streams, streamKey } from '@skreaver/contracts';
import type { RunEventV1, RunJobV1 } from '@skreaver/contracts';
import { AgentRunSlots, RunEventLog, StreamProducer, StreamReader, createRedis } from '@skreaver/messaging';
import type { RunEventArchive, RunRepository } from '@skreaver/persistence';
import { FakeRunCancellation, InMemoryRunEventArchive, InMemoryRunRepository, agentFixture, isolatedRedis } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { QueuedRunCanceller, RunAdmissionError, RunCreator, RunDispatcher } from '../src';
import type { RunCancellation, RunJobQueue } from '../src';

const isolated = isolatedRedis('runs-creator');

// A new run's `run.queued` and its admission go to one Redis server together, without waiting in between
// (RunCreator.logAndAdmit): what they leave behind must be what the three awaited calls left, including when a reply fails.
describe('RunCreator on one Redis server', () => {
  const redis = createRedis(isolated.url, { connectionName: 'runs-creator-test' });
  const eventLog = new RunEventLog(new StreamProducer(redis, isolated.prefix), new StreamReader(redis, isolated.prefix));
  const slots = new AgentRunSlots(redis, isolated.prefix);
  const enqueued: string[] = [];
  const queue: RunJobQueue = {
    add: async (job: RunJobV1) => void enqueued.push(job.run_id),
    removeFinished: async () => 'missing',
  };
  const journal: string[] = [];
  const runs = new InMemoryRunRepository(journal);
  const dispatcher = new RunDispatcher(slots, queue, 3);
  const canceller = new QueuedRunCanceller(
    runs as unknown as RunRepository,
    eventLog,
    new InMemoryRunEventArchive(journal) as unknown as RunEventArchive,
    dispatcher,
    60,
  );
  const creator = new RunCreator(
    runs as unknown as RunRepository,
    eventLog,
    dispatcher,
    new FakeRunCancellation(journal) as unknown as RunCancellation,
    canceller,
    60,
    redis,
  );

  afterAll(async () => {
    redis.disconnect();
    await isolated.cleanup();
  });

  const globalEvents = async (runId: string): Promise<RunEventV1[]> => {
    const entries = await new StreamReader(redis, isolated.prefix).range(Streams.events, { count: 1_000 });
    return entries.map((entry) => entry.payload).filter((event) => event.run_id === runId);
  };

  it('should log run.queued in the run log and on the global stream, take a slot and enqueue; the next run waits in line', async () => {
    const agent = agentFixture({ id: newId(), concurrency: { policy: 'enqueue', max_concurrency: 1 } });

    const { run: first } = await creator.create(agent, { n: 1 }, { source: 'api' });
    const { run: second } = await creator.create(agent, { n: 2 }, { source: 'api' });

    for (const run of [first, second]) {
      const expected = { id: `${run.id}:1`, seq: 1, type: 'run.queued', data: { input: run.input } };
      expect(await eventLog.read(run.id, { limit: 10 })).toEqual([expect.objectContaining(expected)]);
      expect(await globalEvents(run.id)).toEqual([expect.objectContaining(expected)]);
    }
    expect(await slots.active(agent.id)).toEqual([first.id]);
    expect(await slots.depth(agent.id)).toEqual({ active: 1, pending: 1 });
    expect(enqueued).toEqual([first.id]);
  });

  it('should remove the run and let its log expire when the admission fails after run.queued was appended', async () => {
    const agent = agentFixture({ id: newId(), concurrency: { policy: 'enqueue', max_concurrency: 1 } });
    // The agent's line of waiting runs is not a list: the admission script fails with WRONGTYPE, after the appends.
    await redis.set(`${isolated.prefix}:agent-slots:{${agent.id}}:pending`, 'not a list');

    const creating = creator.create(agent, { n: 3 }, { source: 'api' });

    await expect(creating).rejects.toBeInstanceOf(RunAdmissionError);
    const runId = ((await creating.catch((error: RunAdmissionError) => error)) as RunAdmissionError).runId;
    expect(runs.rows.has(runId)).toBe(false);
    expect(await eventLog.read(runId, { limit: 10 })).toEqual([expect.objectContaining({ seq: 1, type: 'run.queued' })]);
    expect(await redis.ttl(streamKey(Streams.runEvents, isolated.prefix, runId))).toBeGreaterThan(0);
  });
});
