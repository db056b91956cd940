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

// A feature module as agent-api's are written: it imports PersistenceModule.
@Module({ imports: [PersistenceModule], providers: [AgentReader], exports: [AgentReader] })
class FeatureModule {}

// Not global: a module that does not import PersistenceModule cannot inject the repositories.
@Module({ providers: [AgentReader] })
class ForgetfulFeatureModule {}

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
      imports: [PersistenceModule.forRoot(optionsFor(db, { runMigrations })), PersistenceModule, FeatureModule],
    }).compile();
    moduleRef.enableShutdownHooks();
    return moduleRef;
  }

  it('should connect without migrating when runMigrations is false', async () => {
    const moduleRef = await boot(false);
    await expect(moduleRef.get(DatabaseHealth).hasPendingMigrations()).resolves.toBe(true);
    await moduleRef.close();
  });

  it('should refuse to boot a module that injects a repository without importing PersistenceModule', async () => {
    // Without PersistenceModule anywhere, so that the failed boot leaves no data source open.
    const compiling = Test.createTestingModule({ imports: [PersistenceModule.forRoot(optionsFor(db, { runMigrations: false })), ForgetfulFeatureModule] }).compile();
    await expect(compiling).rejects.toThrow(/AgentRepository/);
  });

  it('should migrate at start and provide the one data source and every adapter to the modules that import it', async () => {
    const moduleRef = await boot(true);
    const dataSource = moduleRef.get(DataSource);

    expect(dataSource.isInitialized).toBe(true);
    expect(moduleRef.get(RunRepository)).toBeInstanceOf(RunRepository);
    expect(moduleRef.get(RunEventArchive)).toBeInstanceOf(RunEventArchive);
    await expect(moduleRef.get(DatabaseHealth).hasPendingMigrations()).resolves.toBe(false);
    expect(moduleRef.get(AgentReader).agents).toBe(moduleRef.get(AgentRepository));
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
      Test.createTestingModule({ imports: [PersistenceModule.forRoot(optionsFor(db, { runMigrations: true })), PersistenceModule] }).compile(),
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
