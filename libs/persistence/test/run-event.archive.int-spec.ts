import { Agent } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';

import { AgentRepository, RunEventArchive, RunRepository } from '../src';
import { AgentFactory, migratedDatabase, RunEventFactory, RunFactory } from './persistence-fixtures';

describe.each(DATABASE_KINDS)('RunEventArchive on %s', (kind) => {
  let runs: RunRepository;
  let sut: RunEventArchive;
  let agent: Agent;
  const database = migratedDatabase(kind, 'persistence-events', async (dataSource) => {
    runs = new RunRepository(dataSource);
    sut = new RunEventArchive(dataSource);
    agent = await new AgentRepository(dataSource).insert(AgentFactory.create({ tenant_id: 'events-tenant' }));
  });

  const newRun = () => runs.insert(RunFactory.create(agent));

  it('should return appended events in seq order', async () => {
    const run = await newRun();
    const log = RunEventFactory.createLog(run, 5);
    await sut.append([log[3], log[0], log[4], log[2], log[1]]);

    await expect(sut.list(run.tenant_id, run.id, { limit: 100 })).resolves.toEqual(log);
  });

  it('should store each event once when the same events are appended again', async () => {
    const run = await newRun();
    const log = RunEventFactory.createLog(run, 4);
    await sut.append(log.slice(0, 3));
    await sut.append(log);
    await sut.append(log);

    await expect(sut.list(run.tenant_id, run.id, { limit: 100 })).resolves.toEqual(log);
  });

  it('should ignore a duplicate inside a single append', async () => {
    const run = await newRun();
    const log = RunEventFactory.createLog(run, 2);
    await sut.append([log[0], log[0], log[1]]);

    await expect(sut.list(run.tenant_id, run.id, { limit: 100 })).resolves.toEqual(log);
  });

  it('should keep the first version when an id is appended again with different data', async () => {
    const run = await newRun();
    const [queued] = RunEventFactory.createLog(run, 1);
    await sut.append([queued]);
    await sut.append([{ ...queued, ts: '2030-01-01T00:00:00.000Z' }]);

    await expect(sut.list(run.tenant_id, run.id, { limit: 100 })).resolves.toEqual([queued]);
  });

  it('should page with afterSeq and limit', async () => {
    const run = await newRun();
    const log = RunEventFactory.createLog(run, 6);
    await sut.append(log);

    await expect(sut.list(run.tenant_id, run.id, { afterSeq: 2, limit: 3 })).resolves.toEqual(log.slice(2, 5));
    await expect(sut.list(run.tenant_id, run.id, { afterSeq: 0, limit: 2 })).resolves.toEqual(log.slice(0, 2));
    await expect(sut.list(run.tenant_id, run.id, { afterSeq: 6, limit: 10 })).resolves.toEqual([]);
  });

  it('should append a batch larger than one insert chunk', async () => {
    const run = await newRun();
    const log = RunEventFactory.createLog(run, 1_203);
    await sut.append(log);
    await sut.append(log);

    await expect(sut.list(run.tenant_id, run.id, { limit: 2_000 })).resolves.toEqual(log);
  });

  it("should not list another tenant's events", async () => {
    const run = await newRun();
    await sut.append(RunEventFactory.createLog(run, 2));

    await expect(sut.list('someone-else', run.id, { limit: 100 })).resolves.toEqual([]);
  });

  it('should accept an empty append', async () => {
    await expect(sut.append([])).resolves.toBeUndefined();
  });

  it('should fail loudly on a row that no longer matches the contract', async () => {
    const run = await newRun();
    const [queued] = RunEventFactory.createLog(run, 1);
    await sut.append([queued]);
    await database.dataSource
      .createQueryBuilder()
      .update('run_events')
      .set({ type: 'run.exploded' })
      .where('id = :id', { id: queued.id })
      .execute();

    await expect(sut.list(run.tenant_id, run.id, { limit: 100 })).rejects.toThrow();
  });

  it("should delete a run's events with the run", async () => {
    const run = await newRun();
    await sut.append(RunEventFactory.createLog(run, 3));

    await database.dataSource.createQueryBuilder().delete().from('runs').where('id = :id', { id: run.id }).execute();

    await expect(sut.list(run.tenant_id, run.id, { limit: 100 })).resolves.toEqual([]);
  });
});
