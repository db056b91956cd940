import { Agent, JsonValue, Run } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { AgentRepository, RunEventArchive, RunRepository } from '../src';
import { AgentFactory, at, NESTED_JSON, migratedDatabase, RunEventFactory, RunFactory } from './persistence-fixtures';

describe.each(DATABASE_KINDS)('RunRepository on %s', (kind) => {
  let sut: RunRepository;
  let agent: Agent;
  const database = migratedDatabase(kind, 'persistence-runs', async (dataSource) => {
    sut = new RunRepository(dataSource);
    agent = await new AgentRepository(dataSource).insert(AgentFactory.create({ tenant_id: 'runs-tenant' }));
  });

  it('should return an inserted run unchanged, by tenant and across tenants', async () => {
    const run = RunFactory.create(agent);
    await expect(sut.insert(run)).resolves.toEqual(run);
    await expect(sut.findById(agent.tenant_id, run.id)).resolves.toEqual(run);
    await expect(sut.findByIdAnyTenant(run.id)).resolves.toEqual(run);
  });

  it("should not find another tenant's run by tenant", async () => {
    const run = await sut.insert(RunFactory.create(agent));
    await expect(sut.findById('someone-else', run.id)).resolves.toBeNull();
    await expect(sut.findByIdAnyTenant(newId())).resolves.toBeNull();
  });

  it('should reject a run whose agent does not exist', async () => {
    const orphan = RunFactory.create(AgentFactory.create({ tenant_id: agent.tenant_id }));
    // The driver's own error (better-sqlite3's SqliteError is not an \`Error\` of this test file's realm when another
    // file loaded the native module first in the same Jest worker, so \`toThrow\` cannot be used): SQLite and
    // PostgreSQL both name the foreign key.
    await expect(sut.insert(orphan)).rejects.toHaveProperty('message', expect.stringMatching(/foreign key/i));
  });

  it('should move a run through queued → running → completed', async () => {
    const run = await sut.insert(RunFactory.create(agent));

    await expect(sut.markRunning(run.id, 1, at(5))).resolves.toBe(true);
    await expect(sut.findById(run.tenant_id, run.id)).resolves.toEqual({
      ...run,
      status: 'running',
      attempts: 1,
      started_at: at(5),
    });

    await expect(sut.markCompleted(run.id, { answer: 42 }, at(6))).resolves.toBe(true);
    await expect(sut.findById(run.tenant_id, run.id)).resolves.toEqual({
      ...run,
      status: 'completed',
      attempts: 1,
      started_at: at(5),
      output: { answer: 42 },
      finished_at: at(6),
    });
  });

  it('should set its agent running in the same call only when the run was started', async () => {
    const agents = new AgentRepository(database.dataSource);
    const own = await agents.insert(AgentFactory.create({ tenant_id: agent.tenant_id, status: 'idle' }));
    const ended = await sut.insert(RunFactory.create(own));
    await sut.markFailed(ended.id, { code: 'agent_error', message: 'gone' }, at(3));

    await expect(sut.markRunning(ended.id, 1, at(4))).resolves.toBe(false);
    await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'idle' });

    const run = await sut.insert(RunFactory.create(own));
    await expect(sut.markRunning(run.id, 1, at(5))).resolves.toBe(true);
    await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'running', last_activity: at(5) });
    await expect(sut.findById(run.tenant_id, run.id)).resolves.toMatchObject({ status: 'running', attempts: 1, started_at: at(5) });
  });

  it('should leave an agent that already says running as it is when another of its runs starts', async () => {
    const agents = new AgentRepository(database.dataSource);
    const own = await agents.insert(AgentFactory.create({ tenant_id: agent.tenant_id, status: 'idle' }));
    const [first, second] = [await sut.insert(RunFactory.create(own)), await sut.insert(RunFactory.create(own))];
    await sut.markRunning(first.id, 1, at(5));

    await expect(sut.markRunning(second.id, 1, at(6))).resolves.toBe(true);
    // Not written again: the instant stays the first start's.
    await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'running', last_activity: at(5) });
  });

  it("should keep its agent running while another of its runs runs, and set it idle when the last one ends", async () => {
    const agents = new AgentRepository(database.dataSource);
    const own = await agents.insert(AgentFactory.create({ tenant_id: agent.tenant_id, status: 'idle' }));
    const [first, second] = [await sut.insert(RunFactory.create(own)), await sut.insert(RunFactory.create(own))];
    await sut.markRunning(first.id, 1, at(5));
    await sut.markRunning(second.id, 1, at(6));
    const ofAgent = { tenantId: own.tenant_id, id: own.id };

    await expect(sut.markCompleted(first.id, 'one', at(7), ofAgent)).resolves.toBe(true);
    await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'running', last_activity: at(7) });

    await sut.markCancelled(second.id, { code: 'cancelled', message: 'enough' }, at(8));
    await agents.settleActivity(own.tenant_id, own.id, at(8));
    await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'idle', last_activity: at(8) });
  });

  it('should clear an error status once the last running run of the agent ends', async () => {
    const agents = new AgentRepository(database.dataSource);
    const own = await agents.insert(AgentFactory.create({ tenant_id: agent.tenant_id, status: 'idle' }));
    const run = await sut.insert(RunFactory.create(own));
    await sut.markRunning(run.id, 1, at(5));
    await agents.updateActivity(own.tenant_id, own.id, 'error', at(6));

    await expect(sut.markCompleted(run.id, 'done', at(7), { tenantId: own.tenant_id, id: own.id })).resolves.toBe(true);
    await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'idle', last_activity: at(7) });
  });

  it('should leave the agent idle after runs that end at the same moment, never running with none running', async () => {
    // On PostgreSQL the completions run on different pooled connections at once: each must see the others' ends, or
    // two could each find the other still running and both leave the agent `running`.
    const agents = new AgentRepository(database.dataSource);
    const own = await agents.insert(AgentFactory.create({ tenant_id: agent.tenant_id, status: 'idle' }));
    const ofAgent = { tenantId: own.tenant_id, id: own.id };
    for (let round = 0; round < 10; round += 1) {
      const runs = await Promise.all(Array.from({ length: 6 }, () => sut.insert(RunFactory.create(own))));
      await Promise.all(runs.map((run) => sut.markRunning(run.id, 1, at(10 + round))));
      await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'running' });

      await Promise.all(runs.map((run) => sut.markCompleted(run.id, round, at(11 + round), ofAgent)));
      await expect(agents.findById(own.tenant_id, own.id)).resolves.toMatchObject({ status: 'idle' });
    }
  });

  it('should let a retried attempt mark a running run as running again', async () => {
    const run = await sut.insert(RunFactory.create(agent));
    await sut.markRunning(run.id, 1, at(5));

    await expect(sut.markRunning(run.id, 2, at(8))).resolves.toBe(true);
    await expect(sut.findById(run.tenant_id, run.id)).resolves.toMatchObject({ attempts: 2, started_at: at(8) });
  });

  it('should leave a completed run untouched by a second completion, a failure or a restart', async () => {
    const run = await sut.insert(RunFactory.create(agent));
    await sut.markRunning(run.id, 1, at(5));
    await sut.markCompleted(run.id, 'first', at(6));
    const completed = await sut.findById(run.tenant_id, run.id);

    await expect(sut.markCompleted(run.id, 'second', at(7))).resolves.toBe(false);
    await expect(sut.markFailed(run.id, { code: 'late', message: 'too late' }, at(7))).resolves.toBe(false);
    await expect(sut.markRunning(run.id, 2, at(7))).resolves.toBe(false);
    await expect(sut.findById(run.tenant_id, run.id)).resolves.toEqual(completed);
  });

  it('should fail a queued run and then refuse to reopen it', async () => {
    const run = await sut.insert(RunFactory.create(agent));

    await expect(sut.markFailed(run.id, { code: 'agent_error', message: 'boom' }, at(9))).resolves.toBe(true);
    await expect(sut.markRunning(run.id, 1, at(10))).resolves.toBe(false);
    await expect(sut.findById(run.tenant_id, run.id)).resolves.toEqual({
      ...run,
      status: 'failed',
      error: { code: 'agent_error', message: 'boom' },
      finished_at: at(9),
    });
  });

  it('should store the usage of a run whatever its status, and read it back', async () => {
    const run = await sut.insert(RunFactory.create(agent));
    expect(run.usage).toBeNull();
    await sut.markRunning(run.id, 1, at(2));
    await sut.markCompleted(run.id, 'done', at(3));

    await sut.setUsage(run.id, { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 });

    await expect(sut.findById(run.tenant_id, run.id)).resolves.toMatchObject({ status: 'completed', usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 } });
  });

  it('should report false for transitions of an unknown run', async () => {
    await expect(sut.markRunning(newId(), 1, at(1))).resolves.toBe(false);
    await expect(sut.markCompleted(newId(), null, at(1))).resolves.toBe(false);
    await expect(sut.markFailed(newId(), { code: 'x', message: 'y' }, at(1))).resolves.toBe(false);
  });

  it.each<[string, JsonValue]>([
    ['a nested object', NESTED_JSON],
    ['an array', [NESTED_JSON, [1, [2, [3]]], 'x', null]],
    ['a string', 'just "text"'],
    ['a number', -0.5],
    ['a boolean', false],
    ['null', null],
  ])('should round-trip %s as input and output', async (_label, value) => {
    const run = await sut.insert(RunFactory.create(agent, { input: value }));
    await sut.markRunning(run.id, 1, at(2));
    await sut.markCompleted(run.id, value, at(3));

    const stored = await sut.findById(run.tenant_id, run.id);
    expect(stored?.input).toEqual(value);
    expect(stored?.output).toEqual(value);
  });

  it("should list an agent's runs newest first, up to the limit", async () => {
    const other = await new AgentRepository(database.dataSource).insert(AgentFactory.create({ tenant_id: agent.tenant_id }));
    const first = await sut.insert(RunFactory.create(other, { created_at: at(100) }));
    const third = await sut.insert(RunFactory.create(other, { created_at: at(300), source: 'mesh' }));
    const second = await sut.insert(RunFactory.create(other, { created_at: at(200), source: 'schedule' }));

    await expect(sut.listByAgent(other.tenant_id, other.id, { limit: 10 })).resolves.toEqual([third, second, first]);
    await expect(sut.listByAgent(other.tenant_id, other.id, { limit: 1 })).resolves.toEqual([third]);
    await expect(sut.listByAgent('someone-else', other.id, { limit: 10 })).resolves.toEqual([]);
  });

  it('should page through a tenant\'s runs by cursor, ties on created_at broken by id, with and without a status', async () => {
    const tenant = await new AgentRepository(database.dataSource).insert(AgentFactory.create({ tenant_id: 'paged-tenant' }));
    const runs = await Promise.all(
      [at(500), at(500), at(500), at(400), at(300)].map((created_at, index) =>
        sut.insert(RunFactory.create(tenant, { created_at, status: index % 2 === 0 ? 'failed' : 'completed' })),
      ),
    );
    const newestFirst = [...runs].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));

    const seen = [];
    let page = await sut.list(tenant.tenant_id, { limit: 2 });
    while (page.length > 0) {
      seen.push(...page);
      const last = page[page.length - 1];
      page = last ? await sut.list(tenant.tenant_id, { limit: 2, before: last }) : [];
    }
    expect(seen.map((run) => run.id)).toEqual(newestFirst.map((run) => run.id));

    const failed = newestFirst.filter((run) => run.status === 'failed');
    const firstFailed = await sut.list(tenant.tenant_id, { limit: 1, status: 'failed' });
    expect(firstFailed.map((run) => run.id)).toEqual([failed[0]?.id]);
    const restFailed = await sut.list(tenant.tenant_id, { limit: 10, status: 'failed', before: firstFailed[0] });
    expect(restFailed.map((run) => run.id)).toEqual(failed.slice(1).map((run) => run.id));
  });

  it('should delete only finished runs that finished before the cutoff, at most the limit, with their events', async () => {
    const tenant = await new AgentRepository(database.dataSource).insert(AgentFactory.create({ tenant_id: 'retention-tenant' }));
    const old = (status: 'completed' | 'failed' | 'cancelled', seconds: number) =>
      sut.insert(RunFactory.create(tenant, { status, created_at: at(seconds), started_at: at(seconds), finished_at: at(seconds + 1) }));
    // Before every other test's runs (the sweep is global), so only these are old.
    const expired = [await old('completed', -9_000_010), await old('failed', -9_000_011), await old('cancelled', -9_000_012)];
    const young = await old('completed', -1_000);
    const openButOld = await sut.insert(RunFactory.create(tenant, { status: 'running', created_at: at(-9_000_100) }));
    const archive = new RunEventArchive(database.dataSource);
    await archive.append(RunEventFactory.createLog(expired[0] as Run, 3));

    await expect(sut.deleteFinishedBefore(at(-5_000_000), 2)).resolves.toBe(2);
    await expect(sut.deleteFinishedBefore(at(-5_000_000), 100)).resolves.toBe(1);
    await expect(sut.deleteFinishedBefore(at(-5_000_000), 100)).resolves.toBe(0);

    for (const run of expired) await expect(sut.findById(tenant.tenant_id, run.id)).resolves.toBeNull();
    await expect(archive.list(tenant.tenant_id, (expired[0] as Run).id, { limit: 10 })).resolves.toEqual([]);
    await expect(sut.findById(tenant.tenant_id, young.id)).resolves.toEqual(young);
    await expect(sut.findById(tenant.tenant_id, openButOld.id)).resolves.toEqual(openButOld);
  });
});
