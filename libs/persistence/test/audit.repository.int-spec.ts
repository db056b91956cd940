import type { AuditEntry } from '@skreaver/contracts';
import { DATABASE_KINDS } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { AuditRepository, MIGRATIONS } from '../src';
import type { NewAuditEntry } from '../src';
import { at, NESTED_JSON, migratedDatabase } from './persistence-fixtures';

const AuditEntryFactory = {
  create(overrides: Partial<NewAuditEntry> = {}): NewAuditEntry {
    return {
      tenant_id: 'default',
      ts: at(0),
      actor: 'key:abcdefghij',
      action: 'api_key.created',
      target: newId(),
      details: { role: 'viewer', name: 'dashboards' },
      request_id: 'req-1',
      ...overrides,
    };
  },
};

describe.each(DATABASE_KINDS)('AuditRepository on %s', (kind) => {
  let sut: AuditRepository;
  const database = migratedDatabase(kind, 'persistence-audit', (dataSource) => {
    sut = new AuditRepository(dataSource);
  });

  it('should number appended entries in increasing order and read them back unchanged', async () => {
    const first = await sut.append(AuditEntryFactory.create({ tenant_id: 'numbered', details: { nested: NESTED_JSON } }));
    const second = await sut.append(AuditEntryFactory.create({ tenant_id: 'numbered', request_id: null, action: 'token.revoked_all' }));

    expect(second.id).toBeGreaterThan(first.id);
    await expect(sut.list('numbered', { limit: 10 })).resolves.toEqual([second, first]);
  });

  it("should page a tenant's log newest first with before, never showing another tenant's entries", async () => {
    const entries: AuditEntry[] = [];
    for (let index = 0; index < 5; index += 1) entries.push(await sut.append(AuditEntryFactory.create({ tenant_id: 'paged', ts: at(index) })));
    await sut.append(AuditEntryFactory.create({ tenant_id: 'paged-other' }));
    const newestFirst = [...entries].reverse();

    const page1 = await sut.list('paged', { limit: 2 });
    expect(page1).toEqual(newestFirst.slice(0, 2));
    const page2 = await sut.list('paged', { limit: 2, before: page1[1]?.id });
    expect(page2).toEqual(newestFirst.slice(2, 4));
    const page3 = await sut.list('paged', { limit: 2, before: page2[1]?.id });
    expect(page3).toEqual(newestFirst.slice(4));
    await expect(sut.list('nobody', { limit: 10 })).resolves.toEqual([]);
  });

  it('should refuse an entry that breaks the contract', async () => {
    await expect(sut.append(AuditEntryFactory.create({ action: 'agent.exploded' as 'agent.deleted' }))).rejects.toThrow();
    await expect(sut.append(AuditEntryFactory.create({ tenant_id: 'Not A Tenant' }))).rejects.toThrow();
  });

  it('should have tables the auth migration can drop and create again', async () => {
    const migration = MIGRATIONS.find((candidate) => candidate.name.startsWith('AuthSchema'));
    if (!migration) throw new Error('AuthSchema migration missing from MIGRATIONS');
    const queryRunner = database.dataSource.createQueryRunner();
    try {
      await new migration().down(queryRunner);
      await expect(queryRunner.hasTable('audit_log')).resolves.toBe(false);
      await expect(queryRunner.hasTable('api_keys')).resolves.toBe(false);
      await expect(queryRunner.hasTable('agents')).resolves.toBe(true);

      await new migration().up(queryRunner);
      await expect(queryRunner.hasTable('audit_log')).resolves.toBe(true);
      await expect(queryRunner.hasTable('api_keys')).resolves.toBe(true);
    } finally {
      await queryRunner.release();
    }
    await expect(sut.append(AuditEntryFactory.create())).resolves.toMatchObject({ id: 1 });
  });

  it('should delete the entries written before the cutoff, oldest first and at most the limit, and keep the young ones', async () => {
    const tenant = 'audit-retention';
    const old = [];
    // Before every other test's entries (the sweep is global), so only these are old.
    for (const seconds of [-9_000_030, -9_000_010, -9_000_020]) old.push(await sut.append(AuditEntryFactory.create({ tenant_id: tenant, ts: at(seconds) })));
    const young = await sut.append(AuditEntryFactory.create({ tenant_id: tenant, ts: at(-1_000) }));

    await expect(sut.deleteBefore(at(-5_000_000), 2)).resolves.toBe(2);
    // The oldest two went first.
    expect((await sut.list(tenant, { limit: 10 })).map((entry) => entry.ts)).toEqual([at(-1_000), at(-9_000_010)]);
    await expect(sut.deleteBefore(at(-5_000_000), 100)).resolves.toBe(1);
    await expect(sut.list(tenant, { limit: 10 })).resolves.toEqual([young]);
    expect(old).toHaveLength(3);
  });
});
