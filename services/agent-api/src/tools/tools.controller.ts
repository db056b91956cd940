import { Controller, Get } from '@nestjs/common';
import type { ToolList } from '@skreaver/contracts';

import { ToolsService } from './tools.service';

@Controller('tools')
export class ToolsController {
  constructor(private readonly tools: ToolsService) {}

  /** Every tool's name, description and input JSON Schema. */
  @Get()
  list(): ToolList {
    return this.tools.list();
  }
}
