import { Module } from '@nestjs/common';
import { PersistenceModule } from '@skreaver/persistence';
import type { DynamicModule } from '@nestjs/common';

import { AgentsModule } from '../agents/agents.module';
import { MEMORY_CONFIG, MemoryConfig } from './memory.config';
import { MemoryController } from './memory.controller';
import { MemoryService } from './memory.service';
import { MemorySweeper } from './memory-sweeper';

/** Agent memory: `/agents/{id}/memory` and the sweep that purges expired entries. */
@Module({})
export class MemoryModule {
  /** Builds the module, reading `SKREAVER_MEMORY_*` from the process environment now. @throws ConfigError naming a bad variable. */
  static forRoot(): DynamicModule {
    const config = MemoryConfig.load();
    return {
      module: MemoryModule,
      imports: [PersistenceModule, AgentsModule],
      controllers: [MemoryController],
      providers: [{ provide: MEMORY_CONFIG, useValue: config }, MemoryService, MemorySweeper],
    };
  }
}
