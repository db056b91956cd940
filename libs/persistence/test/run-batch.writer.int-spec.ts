import { Agent } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { AgentRepository, RunBatchWriter, RunRepository } from '../src';
import type { NewQueuedRun } from '../src';
import { AgentFactory, at, migratedDatabase } from './persistence-fixtures';

describe.each(DATABASE_KINDS)('RunBatchWriter on %s', (kind) => {
  let sut: RunBatchWriter;
  let runs: RunRepository;
  let agent: Agent;
  migratedDatabase(kind, 'persistence-run-batch', async (dataSource) => {
    sut = new RunBatchWriter(dataSource);
    runs = new RunRepository(dataSource);
    agent = await new AgentRepository(dataSource).insert(AgentFactory.create({ tenant_id: 'batch-tenant' }));
  });

  const queued = (key: string, owner: Agent = agent): NewQueuedRun => ({
    id: newId(),
    tenant_id: owner.tenant_id,
    agent_id: owner.id,
    source: 'mesh',
    input: { mesh: { message_id: key }, payload: [1, { nested: 'é' }] },
    idempotency_key: `mesh:${key}`,
    created_at: at(1),
  });

  it('should store every run of the batch as queued, readable as a Run', async () => {
    const batch = [queued('a'), queued('b'), queued('c')];

    const inserted = await sut.insertQueued(batch);

    expect([...inserted].sort()).toEqual(batch.map((run) => run.id).sort());
    const [first] = batch;
    await expect(runs.findById(agent.tenant_id, first?.id ?? '')).resolves.toEqual(
      expect.objectContaining({ status: 'queued', source: 'mesh', attempts: 0, input: first?.input, idempotency_key: 'mesh:a', output: null, pending_inputs: [] }),
    );
  });

  it('should skip a run whose idempotency key its agent already used, and store the others', async () => {
    const earlier = queued('taken');
    await sut.insertQueued([earlier]);
    const again = queued('taken');
    const fresh = queued('fresh');

    const inserted = await sut.insertQueued([again, fresh]);

    expect([...inserted]).toEqual([fresh.id]);
    await expect(runs.findByIdempotencyKey(agent.tenant_id, agent.id, 'mesh:taken')).resolves.toEqual(expect.objectContaining({ run: expect.objectContaining({ id: earlier.id }) }));
  });

  it('should store nothing of a batch the database refuses (an agent that does not exist)', async () => {
    const good = queued('good-but-refused');
    const orphan = queued('orphan', AgentFactory.create({ tenant_id: agent.tenant_id }));

    await expect(sut.insertQueued([good, orphan])).rejects.toThrow();
    await expect(runs.findById(agent.tenant_id, good.id)).resolves.toBeNull();
  });

  it('should store a batch larger than one statement in one go', async () => {
    const batch = Array.from({ length: 1_203 }, (_, i) => queued(`big-${i}`));

    const inserted = await sut.insertQueued(batch);

    expect(inserted.size).toBe(1_203);
  });
});
