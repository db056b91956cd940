import { Agent, JsonValue } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { AgentRepository, RunRepository } from '../src';
import { AgentFactory, at, NESTED_JSON, migratedDatabase, RunFactory } from './persistence-fixtures';

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
    await expect(sut.insert(orphan)).rejects.toThrow();
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
});
