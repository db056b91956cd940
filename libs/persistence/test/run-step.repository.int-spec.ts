import { Agent, Run, RunStep } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';

import { AgentRepository, RunRepository, RunStepRepository } from '../src';
import { AgentFactory, at, migratedDatabase, NESTED_JSON, RunFactory } from './persistence-fixtures';

describe.each(DATABASE_KINDS)('RunStepRepository on %s', (kind) => {
  let agents: AgentRepository;
  let runs: RunRepository;
  let sut: RunStepRepository;
  let agent: Agent;
  migratedDatabase(kind, 'persistence-steps', async (dataSource) => {
    agents = new AgentRepository(dataSource);
    runs = new RunRepository(dataSource);
    sut = new RunStepRepository(dataSource);
    agent = await agents.insert(AgentFactory.create({ tenant_id: 'steps-tenant' }));
  });

  const step = (run: Run, ordinal: number, overrides: Partial<RunStep> = {}): RunStep => ({
    run_id: run.id,
    ordinal,
    kind: 'tool',
    name: 'http_request',
    ok: true,
    result: { status: 200, n: ordinal },
    created_at: at(ordinal),
    ...overrides,
  });

  it('should list recorded steps in ordinal order, whatever order they were recorded in', async () => {
    const run = await runs.insert(RunFactory.create(agent));
    const steps = [
      step(run, 1),
      step(run, 2, { kind: 'model', name: 'llm', result: NESTED_JSON }),
      step(run, 3, { kind: 'step', name: 'charge-card', result: null }),
      step(run, 4, { ok: false, result: { code: 'http_status', message: '404', retryable: false } }),
    ];
    for (const entry of [steps[2], steps[0], steps[3], steps[1]]) await expect(sut.record(entry)).resolves.toEqual(entry);

    await expect(sut.list(run.id)).resolves.toEqual(steps);
  });

  it('should keep the first step recorded at an ordinal and return it to a later writer', async () => {
    const run = await runs.insert(RunFactory.create(agent));
    const first = step(run, 1, { result: 'first' });
    await sut.record(first);

    await expect(sut.record(step(run, 1, { result: 'second', name: 'other' }))).resolves.toEqual(first);
    await expect(sut.record(first)).resolves.toEqual(first);
    await expect(sut.list(run.id)).resolves.toEqual([first]);
  });

  it("should keep each run's journal apart", async () => {
    const one = await runs.insert(RunFactory.create(agent));
    const two = await runs.insert(RunFactory.create(agent));
    await sut.record(step(one, 1));
    await sut.record(step(two, 1, { result: 'two' }));

    await expect(sut.list(one.id)).resolves.toEqual([step(one, 1)]);
    await expect(sut.list(two.id)).resolves.toEqual([step(two, 1, { result: 'two' })]);
  });

  it('should refuse a step of a run that does not exist', async () => {
    const missing = RunFactory.create(agent);
    await expect(sut.record(step(missing, 1))).rejects.toThrow();
  });

  it('should remove the steps with their run and with their agent', async () => {
    const doomed = await runs.insert(RunFactory.create(agent));
    await sut.record(step(doomed, 1));
    await runs.delete(doomed.id);
    await expect(sut.list(doomed.id)).resolves.toEqual([]);

    const other = await agents.insert(AgentFactory.create({ tenant_id: agent.tenant_id }));
    const run = await runs.insert(RunFactory.create(other));
    await sut.record(step(run, 1));
    await sut.record(step(run, 2));
    await agents.delete(other.tenant_id, other.id);
    await expect(sut.list(run.id)).resolves.toEqual([]);
  });
});
