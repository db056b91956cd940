import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown, Provider } from '@nestjs/common';
import { DataSource } from 'typeorm';

import { AgentMemoryRepository } from './agent-memory.repository';
import { AgentRepository } from './agent.repository';
import { ApiKeyRepository } from './api-key.repository';
import { AuditRepository } from './audit.repository';
import { createDataSource, describeDatabase, PersistenceOptions } from './data-source.factory';
import { trackDatabaseMetrics, untrackDatabaseMetrics } from './database-metrics';
import { runMigrations } from './migrate';
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
      { provide: ApiKeyRepository, useFactory: (ds: DataSource) => new ApiKeyRepository(ds), inject: [DataSource] },
      { provide: AuditRepository, useFactory: (ds: DataSource) => new AuditRepository(ds), inject: [DataSource] },
      { provide: AgentMemoryRepository, useFactory: (ds: DataSource) => new AgentMemoryRepository(ds), inject: [DataSource] },
    ];
    return {
      // One data source per process, used by most feature modules: global like @nestjs/typeorm's forRoot,
      // so features inject the adapters without each importing (and re-opening) the database.
      global: true,
      module: PersistenceModule,
      providers: [dataSource, ...adapters],
      exports: [DataSource, AgentRepository, RunRepository, RunEventArchive, DatabaseHealth, ApiKeyRepository, AuditRepository, AgentMemoryRepository],
    };
  }

  private static async openDataSource(options: PersistenceOptions): Promise<DataSource> {
    const { kind, target } = describeDatabase(options);
    const dataSource = createDataSource(options);
    await dataSource.initialize();
    trackDatabaseMetrics(dataSource);
    try {
      if (options.runMigrations) {
        const applied = await runMigrations(dataSource);
        PersistenceModule.logger.log(`${kind} ${target}: applied ${applied.length} migration(s)`);
      } else {
        PersistenceModule.logger.log(`${kind} ${target}: connected (migrations not run by this service)`);
      }
    } catch (error) {
      // A failed boot must not leave a pool or file handle open behind it.
      untrackDatabaseMetrics(dataSource);
      await dataSource.destroy();
      throw error;
    }
    return dataSource;
  }

  /** Closes the pool or SQLite handle; needs `app.enableShutdownHooks()` for signals, runs on `app.close()` anyway. */
  async onApplicationShutdown(): Promise<void> {
    untrackDatabaseMetrics(this.dataSource);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
