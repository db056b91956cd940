import { DATABASE_KINDS, IsolatedDatabase, isolatedDatabase } from '@skreaver/testing';

import { Injectable, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';

import { AgentRepository, DatabaseHealth, MIGRATIONS, PersistenceModule, RunEventArchive, RunRepository } from '../src';
import { AgentFactory, optionsFor } from './persistence-fixtures';

@Injectable()
class AgentReader {
  constructor(readonly agents: AgentRepository) {}
}

// A feature module that does not import PersistenceModule, as agent-api's feature modules do not.
@Module({ providers: [AgentReader], exports: [AgentReader] })
class FeatureModule {}

describe.each(DATABASE_KINDS)(`${PersistenceModule.name} on %s`, (kind) => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await isolatedDatabase(kind, 'persistence-module');
  });

  afterAll(async () => {
    await db.cleanup();
  });

  async function boot(runMigrations: boolean): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [PersistenceModule.forRoot(optionsFor(db, { runMigrations })), FeatureModule],
    }).compile();
    moduleRef.enableShutdownHooks();
    return moduleRef;
  }

  it('should connect without migrating when runMigrations is false', async () => {
    const moduleRef = await boot(false);
    await expect(moduleRef.get(DatabaseHealth).hasPendingMigrations()).resolves.toBe(true);
    await moduleRef.close();
  });

  it('should migrate at start and provide every adapter to modules that do not import it', async () => {
    const moduleRef = await boot(true);
    const dataSource = moduleRef.get(DataSource);

    expect(dataSource.isInitialized).toBe(true);
    expect(moduleRef.get(RunRepository)).toBeInstanceOf(RunRepository);
    expect(moduleRef.get(RunEventArchive)).toBeInstanceOf(RunEventArchive);
    await expect(moduleRef.get(DatabaseHealth).hasPendingMigrations()).resolves.toBe(false);
    const agent = await moduleRef.get(AgentReader).agents.insert(AgentFactory.create());
    await expect(moduleRef.get(AgentRepository).findById(agent.tenant_id, agent.id)).resolves.toEqual(agent);

    await moduleRef.close();
    expect(dataSource.isInitialized).toBe(false);
  });
});

describe(`${PersistenceModule.name} with several replicas starting at once on postgres`, () => {
  let db: IsolatedDatabase;

  beforeAll(async () => {
    db = await isolatedDatabase('postgres', 'migration-race');
  });

  afterAll(async () => {
    await db.cleanup();
  });

  it('should let exactly one replica migrate while the others wait and boot', async () => {
    const boots = Array.from({ length: 4 }, () =>
      Test.createTestingModule({ imports: [PersistenceModule.forRoot(optionsFor(db, { runMigrations: true }))] }).compile(),
    );
    const modules = await Promise.all(boots);
    for (const moduleRef of modules) {
      await expect(moduleRef.get(DatabaseHealth).hasPendingMigrations()).resolves.toBe(false);
    }
    const executed = (await modules[0]?.get(DataSource).query('SELECT name FROM migrations')) as unknown[];
    expect(executed).toHaveLength(MIGRATIONS.length);
    await Promise.all(modules.map((moduleRef) => moduleRef.close()));
  });
});
