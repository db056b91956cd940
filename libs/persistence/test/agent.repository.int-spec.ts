import { DATABASE_KINDS } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { AgentRepository, RunRepository } from '../src';
import { AgentFactory, at, NESTED_JSON, migratedDatabase, RunFactory } from './persistence-fixtures';

describe.each(DATABASE_KINDS)('AgentRepository on %s', (kind) => {
  let sut: AgentRepository;
  const database = migratedDatabase(kind, 'persistence-agents', (dataSource) => {
    sut = new AgentRepository(dataSource);
  });

  it('should return an inserted agent unchanged from findById', async () => {
    const agent = AgentFactory.create({ config: { nested: NESTED_JSON } });
    await expect(sut.insert(agent)).resolves.toEqual(agent);
    await expect(sut.findById(agent.tenant_id, agent.id)).resolves.toEqual(agent);
  });

  it('should return null for an unknown id', async () => {
    await expect(sut.findById('default', newId())).resolves.toBeNull();
  });

  it("should not find another tenant's agent", async () => {
    const agent = await sut.insert(AgentFactory.create({ tenant_id: 'tenant-a' }));
    await expect(sut.findById('tenant-b', agent.id)).resolves.toBeNull();
    await expect(sut.findById('tenant-a', agent.id)).resolves.toEqual(agent);
  });

  it("should list only the tenant's agents, newest first, up to the limit", async () => {
    const tenant = 'list-tenant';
    const older = await sut.insert(AgentFactory.create({ tenant_id: tenant, created_at: at(10) }));
    const newest = await sut.insert(AgentFactory.create({ tenant_id: tenant, created_at: at(30) }));
    const middle = await sut.insert(AgentFactory.create({ tenant_id: tenant, created_at: at(20) }));
    await sut.insert(AgentFactory.create({ tenant_id: 'list-other', created_at: at(40) }));

    await expect(sut.list(tenant, { limit: 10 })).resolves.toEqual([newest, middle, older]);
    await expect(sut.list(tenant, { limit: 2 })).resolves.toEqual([newest, middle]);
    await expect(sut.list('list-nobody', { limit: 10 })).resolves.toEqual([]);
  });

  it('should record status and last activity, only within the tenant', async () => {
    const agent = await sut.insert(AgentFactory.create({ tenant_id: 'activity' }));

    await sut.updateActivity('someone-else', agent.id, 'error', at(99));
    await expect(sut.findById('activity', agent.id)).resolves.toEqual(agent);

    await sut.updateActivity('activity', agent.id, 'running', at(50));
    await expect(sut.findById('activity', agent.id)).resolves.toEqual({
      ...agent,
      status: 'running',
      last_activity: at(50),
    });
  });

  it('should reject a second agent with the same id', async () => {
    const agent = await sut.insert(AgentFactory.create());
    await expect(sut.insert(AgentFactory.create({ id: agent.id }))).rejects.toThrow();
  });

  it('should reject an agent that breaks the contract before writing it', async () => {
    const agent = AgentFactory.create({ tenant_id: 'Not A Tenant' });
    await expect(sut.insert(agent)).rejects.toThrow();
    await expect(sut.findById('Not A Tenant', agent.id)).resolves.toBeNull();
  });

  it("should delete an agent's runs with it", async () => {
    const runs = new RunRepository(database.dataSource);
    const agent = await sut.insert(AgentFactory.create());
    const run = await runs.insert(RunFactory.create(agent));
    const survivor = await runs.insert(RunFactory.create(await sut.insert(AgentFactory.create())));

    // The repository has no delete yet, so the row goes the way a future delete would: one DELETE.
    await database.dataSource.createQueryBuilder().delete().from('agents').where('id = :id', { id: agent.id }).execute();

    await expect(runs.findById(run.tenant_id, run.id)).resolves.toBeNull();
    await expect(runs.findById(survivor.tenant_id, survivor.id)).resolves.toEqual(survivor);
  });
});
