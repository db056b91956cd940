import { Module } from '@nestjs/common';
import { ToolRegistry, builtInTools } from '@skreaver/agent-runtime';

import { ToolsController } from './tools.controller';
import { ToolsService } from './tools.service';

/** `GET /tools`: the built-in tools (the same definitions the coordinators run). */
@Module({
  controllers: [ToolsController],
  providers: [ToolsService, { provide: ToolRegistry, useFactory: () => new ToolRegistry(builtInTools()) }],
})
export class ToolsModule {}
