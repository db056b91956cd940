import type { Agent, JsonValue } from '@skreaver/contracts';
import { DATABASE_KINDS, IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { DataSource } from 'typeorm';

import { AgentMemoryRepository, AgentRepository, createDataSource } from '../src';
import type { MemoryWrite } from '../src';
import { AgentMemoryEntity } from '../src/entities/agent-memory.entity';
import { AgentMemory1796100000000 } from '../src/migrations/agent-memory.migration';
import { AgentFactory, at, NESTED_JSON, optionsFor } from './persistence-fixtures';

const TENANT = 'default';

const MemoryWriteFactory = {
  create(overrides: Partial<MemoryWrite> = {}): MemoryWrite {
    return { key: 'notes', value: { text: 'hello' }, at: at(10), expires_at: null, ...overrides };
  },
};

describe.each(DATABASE_KINDS)('AgentMemoryRepository on %s', (kind) => {
  let db: IsolatedDatabase;
  let dataSource: DataSource;
  let agents: AgentRepository;
  let sut: AgentMemoryRepository;

  beforeAll(async () => {
    db = await isolatedDatabase(kind, 'persistence-memory');
    dataSource = createDataSource(optionsFor(db));
    // Registered here so the schema check below covers the table whether or not the service registers the entity.
    const entities = Array.isArray(dataSource.options.entities) ? dataSource.options.entities : [];
    dataSource.setOptions({ entities: [...entities, AgentMemoryEntity] });
    await dataSource.initialize();
    await dataSource.runMigrations();
    agents = new AgentRepository(dataSource);
    sut = new AgentMemoryRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.cleanup();
  });

  const newAgent = (overrides: Partial<Agent> = {}) => agents.insert(AgentFactory.create(overrides));

  describe('schema', () => {
    it('should drop the table on down() and create it again on up()', async () => {
      const migration = new AgentMemory1796100000000();
      const queryRunner = dataSource.createQueryRunner();
      try {
        await migration.down(queryRunner);
        await expect(queryRunner.hasTable('agent_memory')).resolves.toBe(false);
        await expect(queryRunner.hasTable('agents')).resolves.toBe(true);

        await migration.up(queryRunner);
        await expect(queryRunner.hasTable('agent_memory')).resolves.toBe(true);
      } finally {
        await queryRunner.release();
      }
    });

    it('should produce exactly the schema the entity describes', async () => {
      const diff = await dataSource.driver.createSchemaBuilder().log();
      expect(diff.upQueries.map((query) => query.query)).toEqual([]);
    });
  });

  it.each<[string, JsonValue]>([
    ['a nested object', NESTED_JSON],
    ['an array', [1, 'two', [3], { four: null }]],
    ['a unicode string', 'héllo wörld — 日本語 😀 \u0000 "quoted"'],
    ['a number', -12.5],
    ['true', true],
    ['false', false],
    ['null', null],
  ])('should store and return %s unchanged, with its JSON size', async (_label, value) => {
    const agent = await newAgent();

    const stored = await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ value }));

    const entry = { key: 'notes', value, size_bytes: Buffer.byteLength(JSON.stringify(value)), created_at: at(10), updated_at: at(10), expires_at: null };
    expect(stored).toEqual(entry);
    await expect(sut.get(TENANT, agent.id, 'notes')).resolves.toEqual(entry);
  });

  it('should replace value, TTL and updated_at but keep created_at', async () => {
    const agent = await newAgent();
    await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ value: 1, at: at(10), expires_at: at(100) }));

    const replaced = await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ value: { two: 2 }, at: at(20), expires_at: null }));

    expect(replaced).toEqual({ key: 'notes', value: { two: 2 }, size_bytes: 9, created_at: at(10), updated_at: at(20), expires_at: null });
    await expect(sut.get(TENANT, agent.id, 'notes')).resolves.toEqual(replaced);
  });

  it('should treat a write over an expired entry as a new entry', async () => {
    const agent = await newAgent();
    await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ at: at(10), expires_at: at(15) }));

    const rewritten = await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ at: at(15) }));

    expect(rewritten).toMatchObject({ created_at: at(15), updated_at: at(15), expires_at: null });
  });

  it("should write nothing, and return null, for an unknown agent or another tenant than the agent's", async () => {
    const agent = await newAgent();
    await sut.put(TENANT, agent.id, MemoryWriteFactory.create());

    await expect(sut.put(TENANT, AgentFactory.create().id, MemoryWriteFactory.create())).resolves.toBeNull();
    await expect(sut.put('intruder', agent.id, MemoryWriteFactory.create({ value: 'overwritten' }))).resolves.toBeNull();
    await expect(sut.put('intruder', agent.id, MemoryWriteFactory.create({ key: 'fresh' }))).resolves.toBeNull();
    await expect(sut.get(TENANT, agent.id, 'notes')).resolves.toMatchObject({ value: { text: 'hello' } });
    await expect(sut.get('intruder', agent.id, 'notes')).resolves.toBeNull();
    await expect(sut.get(TENANT, agent.id, 'fresh')).resolves.toBeNull();
  });

  it('should reject a key that breaks the contract before writing', async () => {
    const agent = await newAgent();
    await expect(sut.put(TENANT, agent.id, MemoryWriteFactory.create({ key: 'has space' }))).rejects.toThrow();
    await expect(sut.countLive(TENANT, agent.id, at(0))).resolves.toBe(0);
  });

  describe('list', () => {
    let agentId: string;
    const keys = ['a_1', 'a_2', 'A_1', 'ab1', 'a.b', 'a', 'b_1', 'expired_1'];

    beforeAll(async () => {
      agentId = (await newAgent()).id;
      const other = await newAgent();
      for (const key of keys) {
        await sut.put(TENANT, agentId, MemoryWriteFactory.create({ key, value: key, expires_at: key.startsWith('expired') ? at(50) : null }));
      }
      await sut.put(TENANT, other.id, MemoryWriteFactory.create({ key: 'a_other' }));
    });

    const listKeys = async (options: { prefix?: string; after?: string; limit?: number; now?: string }) =>
      (await sut.list(TENANT, agentId, { limit: 100, now: at(60), ...options })).map((entry) => entry.key);

    it('should list live entries in bytewise key order', async () => {
      // Bytewise: upper case before lower case, '.' (0x2e) before '1' (0x31) before '_' (0x5f).
      await expect(listKeys({})).resolves.toEqual(['A_1', 'a', 'a.b', 'a_1', 'a_2', 'ab1', 'b_1']);
      await expect(listKeys({ now: at(40) })).resolves.toContain('expired_1');
    });

    it.each([
      ['a_', ['a_1', 'a_2']],
      ['a', ['a', 'a.b', 'a_1', 'a_2', 'ab1']],
      ['A', ['A_1']],
      ['a%', []],
      ['%', []],
      ['a_1', ['a_1']],
      ['zzz', []],
    ])('should match the prefix %j literally and case-sensitively', async (prefix, expected) => {
      await expect(listKeys({ prefix })).resolves.toEqual(expected);
    });

    it('should page with after and limit', async () => {
      await expect(listKeys({ limit: 2 })).resolves.toEqual(['A_1', 'a']);
      await expect(listKeys({ limit: 2, after: 'a' })).resolves.toEqual(['a.b', 'a_1']);
      await expect(listKeys({ limit: 2, after: 'a_1', prefix: 'a_' })).resolves.toEqual(['a_2']);
      await expect(listKeys({ after: 'b_1' })).resolves.toEqual([]);
    });

    it('should count live entries only', async () => {
      await expect(sut.countLive(TENANT, agentId, at(60))).resolves.toBe(7);
      await expect(sut.countLive(TENANT, agentId, at(40))).resolves.toBe(8);
      await expect(sut.countLive('other-tenant', agentId, at(40))).resolves.toBe(0);
    });
  });

  it('should delete an entry once, and an expired one only once it has expired', async () => {
    const agent = await newAgent();
    await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ key: 'k1' }));
    await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ key: 'k2', expires_at: at(30) }));

    await expect(sut.delete(TENANT, agent.id, 'k1')).resolves.toBe(true);
    await expect(sut.delete(TENANT, agent.id, 'k1')).resolves.toBe(false);
    await expect(sut.deleteExpired(TENANT, agent.id, 'k2', at(29))).resolves.toBe(false);
    await expect(sut.deleteExpired(TENANT, agent.id, 'k2', at(30))).resolves.toBe(true);
    await expect(sut.get(TENANT, agent.id, 'k2')).resolves.toBeNull();
  });

  it('should purge expired entries of every agent in bounded batches, oldest first', async () => {
    // Far in the future, so entries other tests left behind are not expired at `now`.
    const base = 10_000_000;
    const [first, second] = [await newAgent(), await newAgent()];
    for (const [index, agent] of [first, second, first, second, first].entries()) {
      await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ key: `ttl-${index}`, at: at(base), expires_at: at(base + 10 + index) }));
    }
    await sut.put(TENANT, first.id, MemoryWriteFactory.create({ key: 'later', at: at(base), expires_at: at(base + 1000) }));
    await sut.put(TENANT, first.id, MemoryWriteFactory.create({ key: 'forever', at: at(base) }));
    const now = at(base + 100);
    // Entries earlier tests left to expire would come first (oldest expiry first); clear them.
    await sut.purgeExpired(at(base), 10_000);

    await expect(sut.purgeExpired(now, 2)).resolves.toBe(2);
    await expect(sut.get(TENANT, first.id, 'ttl-0')).resolves.toBeNull();
    await expect(sut.get(TENANT, second.id, 'ttl-1')).resolves.toBeNull();
    await expect(sut.get(TENANT, first.id, 'ttl-2')).resolves.not.toBeNull();
    await expect(sut.purgeExpired(now, 2)).resolves.toBe(2);
    await expect(sut.purgeExpired(now, 2)).resolves.toBe(1);
    await expect(sut.purgeExpired(now, 2)).resolves.toBe(0);
    await expect(sut.countLive(TENANT, first.id, now)).resolves.toBe(2);
  });

  it("should delete an agent's memory with the agent", async () => {
    const agent = await newAgent();
    const survivor = await newAgent();
    await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ key: 'k1' }));
    await sut.put(TENANT, agent.id, MemoryWriteFactory.create({ key: 'k2', expires_at: at(500) }));
    await sut.put(TENANT, survivor.id, MemoryWriteFactory.create({ key: 'k1' }));

    await expect(agents.delete(TENANT, agent.id)).resolves.toBe(true);

    await expect(sut.get(TENANT, agent.id, 'k1')).resolves.toBeNull();
    await expect(sut.countLive(TENANT, agent.id, at(0))).resolves.toBe(0);
    await expect(sut.get(TENANT, survivor.id, 'k1')).resolves.not.toBeNull();
  });
});
