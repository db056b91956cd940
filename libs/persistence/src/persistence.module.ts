import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown, Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { AgentRepository } from './agent.repository';
import { createDataSource, describeDatabase, PersistenceOptions } from './data-source.factory';
import { DatabaseHealth } from './database.health';
import { RunEventArchive } from './run-event.archive';
import { RunRepository } from './run.repository';

/** Wires the data source and the repositories into Nest; the repositories themselves stay framework-free. */
@Module({})
export class PersistenceModule implements OnApplicationShutdown {
  private static readonly logger = new Logger('Persistence');

  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * Provides an initialized `DataSource` (migrated at start when `runMigrations` is set), `AgentRepository`,
   * `RunRepository`, `RunEventArchive` and `DatabaseHealth` to every module. Import it once, in the app module.
   */
  static forRoot(options: PersistenceOptions): DynamicModule {
    const dataSource: Provider = {
      provide: DataSource,
      useFactory: () => PersistenceModule.openDataSource(options),
    };
    const adapters: Provider[] = [
      { provide: AgentRepository, useFactory: (ds: DataSource) => new AgentRepository(ds), inject: [DataSource] },
      { provide: RunRepository, useFactory: (ds: DataSource) => new RunRepository(ds), inject: [DataSource] },
      { provide: RunEventArchive, useFactory: (ds: DataSource) => new RunEventArchive(ds), inject: [DataSource] },
      { provide: DatabaseHealth, useFactory: (ds: DataSource) => new DatabaseHealth(ds), inject: [DataSource] },
    ];
    return {
      // One data source per process, used by most feature modules: global like @nestjs/typeorm's forRoot,
      // so features inject the adapters without each importing (and re-opening) the database.
      global: true,
      module: PersistenceModule,
      providers: [dataSource, ...adapters],
      exports: [DataSource, AgentRepository, RunRepository, RunEventArchive, DatabaseHealth],
    };
  }

  private static async openDataSource(options: PersistenceOptions): Promise<DataSource> {
    const { kind, target } = describeDatabase(options);
    const dataSource = createDataSource(options);
    await dataSource.initialize();
    try {
      if (options.runMigrations) {
        const applied = await withMigrationLock(dataSource, () => dataSource.runMigrations({ transaction: 'all' }));
        PersistenceModule.logger.log(`${kind} ${target}: applied ${applied.length} migration(s)`);
      } else {
        PersistenceModule.logger.log(`${kind} ${target}: connected (migrations not run by this service)`);
      }
    } catch (error) {
      // A failed boot must not leave a pool or file handle open behind it.
      await dataSource.destroy();
      throw error;
    }
    return dataSource;
  }

  /** Closes the pool or SQLite handle; needs `app.enableShutdownHooks()` for signals, runs on `app.close()` anyway. */
  async onApplicationShutdown(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/**
 * Several agent-api replicas start at once in Kubernetes: on PostgreSQL a session advisory lock lets one migrate
 * while the others wait, then find nothing left to do. (SQLite is a single-host file; its write lock suffices.)
 */
async function withMigrationLock<T>(dataSource: DataSource, migrate: () => Promise<T>): Promise<T> {
  if (dataSource.options.type !== 'postgres') return migrate();
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock(hashtext($1))', ['skreaver.migrations']);
    return await migrate();
  } finally {
    await lock.query('SELECT pg_advisory_unlock(hashtext($1))', ['skreaver.migrations']).catch(() => undefined);
    await lock.release();
  }
}
