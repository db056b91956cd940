import { DynamicModule, Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { ConfigModule } from '@skreaver/config';
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
import { RunBatchWriter } from './run-batch.writer';
import { RunRepository } from './run.repository';
import { RunStepRepository } from './run-step.repository';
import { ThreadRepository } from './thread.repository';

const logger = new Logger('Persistence');

/** Injection token of the `PersistenceOptions` of `PersistenceModule.forRoot`. */
export const PERSISTENCE_OPTIONS = Symbol('skreaver.persistence.options');

/**
 * Wires the data source and the repositories into Nest; the repositories themselves stay framework-free. Provides
 * an initialized `DataSource` (migrated at start when `runMigrations` is set), `AgentRepository`, `RunRepository`,
 * `RunEventArchive`, `DatabaseHealth`, `ApiKeyRepository`, `AuditRepository`, `AgentMemoryRepository`, `RunStepRepository`
 * and `ThreadRepository`. Not global: every module that injects one of them imports `PersistenceModule`, and being a
 * static module it is one
 * instance (one data source) however many modules import it. `PersistenceModule.forRoot(options)`, imported once by
 * the app module, supplies its options.
 */
@Module({
  providers: [
    { provide: DataSource, useFactory: (options: PersistenceOptions) => openDataSource(options), inject: [PERSISTENCE_OPTIONS] },
    { provide: AgentRepository, useFactory: (ds: DataSource) => new AgentRepository(ds), inject: [DataSource] },
    { provide: RunRepository, useFactory: (ds: DataSource) => new RunRepository(ds), inject: [DataSource] },
    { provide: RunBatchWriter, useFactory: (ds: DataSource) => new RunBatchWriter(ds), inject: [DataSource] },
    { provide: RunEventArchive, useFactory: (ds: DataSource) => new RunEventArchive(ds), inject: [DataSource] },
    { provide: DatabaseHealth, useFactory: (ds: DataSource) => new DatabaseHealth(ds), inject: [DataSource] },
    { provide: ApiKeyRepository, useFactory: (ds: DataSource) => new ApiKeyRepository(ds), inject: [DataSource] },
    { provide: AuditRepository, useFactory: (ds: DataSource) => new AuditRepository(ds), inject: [DataSource] },
    { provide: AgentMemoryRepository, useFactory: (ds: DataSource) => new AgentMemoryRepository(ds), inject: [DataSource] },
    { provide: RunStepRepository, useFactory: (ds: DataSource) => new RunStepRepository(ds), inject: [DataSource] },
    { provide: ThreadRepository, useFactory: (ds: DataSource) => new ThreadRepository(ds), inject: [DataSource] },
  ],
  exports: [
    DataSource,
    AgentRepository,
    RunRepository,
    RunBatchWriter,
    RunEventArchive,
    DatabaseHealth,
    ApiKeyRepository,
    AuditRepository,
    AgentMemoryRepository,
    RunStepRepository,
    ThreadRepository,
  ],
})
export class PersistenceModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /**
   * The service's database settings, as `PERSISTENCE_OPTIONS` to every module through `ConfigModule` (configuration,
   * like the service config); the data source and repositories only reach modules that import `PersistenceModule`.
   * Import it once, in the app module.
   */
  static forRoot(options: PersistenceOptions): DynamicModule {
    return ConfigModule.register(PERSISTENCE_OPTIONS, options);
  }

  /** Closes the pool or SQLite handle; needs `app.enableShutdownHooks()` for signals, runs on `app.close()` anyway. */
  async onApplicationShutdown(): Promise<void> {
    untrackDatabaseMetrics(this.dataSource);
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

async function openDataSource(options: PersistenceOptions): Promise<DataSource> {
  const { kind, target } = describeDatabase(options);
  const dataSource = createDataSource(options);
  await dataSource.initialize();
  trackDatabaseMetrics(dataSource);
  try {
    if (options.runMigrations) {
      const applied = await runMigrations(dataSource);
      logger.log(`${kind} ${target}: applied ${applied.length} migration(s)`);
    } else {
      logger.log(`${kind} ${target}: connected (migrations not run by this service)`);
    }
  } catch (error) {
    // A failed boot must not leave a pool or file handle open behind it.
    untrackDatabaseMetrics(dataSource);
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
