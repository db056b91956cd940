import { Streams } from '@skreaver/contracts';
import { isolatedRedis } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { AgentRunSlots, RunEventLog, StreamProducer, StreamQueue, StreamReader, createRedis } from '../src';
import { runQueuedEvent, runsQueueDef } from './fixtures';

const isolated = isolatedRedis('messaging-agent-slots');

describe(AgentRunSlots.name, () => {
  const redis = createRedis(isolated.url, { connectionName: 'messaging-slots-test' });
  const sut = new AgentRunSlots(redis, isolated.prefix);

  afterAll(async () => {
    redis.disconnect();
    await isolated.cleanup();
  });

  it('should keep the place of a run admitted twice while it waits, so it is handed a slot once', async () => {
    const agentId = newId();
    const [first, second, third] = [newId(), newId(), newId()];
    expect(await sut.admit(agentId, first, 1, 'queue')).toEqual({ outcome: 'start' });
    expect(await sut.admit(agentId, second, 1, 'queue')).toEqual({ outcome: 'queued', position: 1 });
    expect(await sut.admit(agentId, third, 1, 'queue')).toEqual({ outcome: 'queued', position: 2 });

    expect(await sut.admit(agentId, second, 1, 'queue')).toEqual({ outcome: 'queued', position: 1 });
    expect(await sut.admit(agentId, first, 1, 'queue')).toEqual({ outcome: 'start' });

    expect(await sut.depth(agentId)).toEqual({ active: 1, pending: 2 });
    expect(await sut.release(agentId, first, 1)).toEqual([second]);
    expect(await sut.release(agentId, second, 1)).toEqual([third]);
    expect(await sut.release(agentId, third, 1)).toEqual([]);
  });

  it('should admit new runs like admit, in the order sent, without looking for them in line (so only for runs never admitted)', async () => {
    const agentId = newId();
    const [first, second, third] = [newId(), newId(), newId()];

    const admissions = await Promise.all([first, second, third].map((runId) => sut.admitNew(agentId, runId, 2, 'queue')));

    expect(admissions).toEqual([{ outcome: 'start' }, { outcome: 'start' }, { outcome: 'queued', position: 1 }]);
    // What `admit` checks and the new-run admission skips: a run already in line would be put there a second time.
    expect(await sut.admitNew(agentId, third, 2, 'queue')).toEqual({ outcome: 'queued', position: 2 });
    expect(await sut.admit(agentId, third, 2, 'queue')).toEqual({ outcome: 'queued', position: 1 });
  });

  it('should log a new run\'s first event and admit it in one script, and admit nothing when the event\'s id is taken', async () => {
    const reader = new StreamReader(redis, isolated.prefix);
    const log = new RunEventLog(new StreamProducer(redis, isolated.prefix), reader);
    const agentId = newId();
    const event = runQueuedEvent(1, newId(), agentId);

    expect(await sut.admitNew(agentId, event.run_id, 1, 'queue', log.firstEntry(event))).toEqual({ outcome: 'start' });

    expect(await log.read(event.run_id, { limit: 10 })).toEqual([event]);
    const published = await reader.range(Streams.events, { count: 100 });
    expect(published.filter((entry) => entry.payload.id === event.id)).toHaveLength(1);
    // A second run whose log already holds its first event (a broken caller): refused before its admission.
    const other = runQueuedEvent(1, newId(), agentId);
    await log.append(other);
    await expect(sut.admitNew(agentId, other.run_id, 2, 'queue', log.firstEntry(other))).rejects.toThrow(/equal or smaller/);
    expect(await sut.active(agentId)).toEqual([event.run_id]);
  });

  it('should log, admit and enqueue a new run in one script, and enqueue only a run admitted to start', async () => {
    const log = new RunEventLog(new StreamProducer(redis, isolated.prefix), new StreamReader(redis, isolated.prefix));
    const queue = new StreamQueue(runsQueueDef(1), { connection: redis, keyPrefix: isolated.prefix });
    const agentId = newId();
    const admitNew = (runId: string, mode: 'queue' | 'interrupt') => {
      const job = queue.entry({ run_id: runId, agent_id: agentId, tenant_id: 't-1' }, { jobId: runId, attempts: 2 });
      return sut.admitNew(agentId, runId, 1, mode, log.firstEntry(runQueuedEvent(1, runId, agentId)), job);
    };
    const [first, second, third] = [newId(), newId(), newId()];

    expect(await admitNew(first, 'queue')).toEqual({ outcome: 'start', enqueued: true });
    // At its limit: the run waits its turn, and whoever frees the slot enqueues it.
    expect(await admitNew(second, 'queue')).toEqual({ outcome: 'queued', position: 1 });
    // Its victims are cancelled before its job is added, so the caller enqueues it.
    expect(await admitNew(third, 'interrupt')).toEqual({ outcome: 'interrupt', interrupted: [first, second] });

    expect(await queue.standing(first)).toBe('pending');
    expect(await queue.standing(second)).toBe('missing');
    expect(await queue.standing(third)).toBe('missing');
    const entries = await redis.xrange(queue.keys.stream, '-', '+');
    expect(entries.map(([, fields]) => fields)).toEqual([['i', first, 'd', JSON.stringify({ run_id: first, agent_id: agentId, tenant_id: 't-1' }), 'a', '2', 'm', '0']]);
    expect(await log.read(first, { limit: 10 })).toHaveLength(1);
  });
});
