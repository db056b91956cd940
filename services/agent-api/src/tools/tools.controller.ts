import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { ToolList } from '@skreaver/contracts';
import { RequireRole } from '@skreaver/http';

import { ToolListDto } from '../dtos';
import { ToolsService } from './tools.service';

@ApiTags('tools')
@Controller('tools')
export class ToolsController {
  constructor(private readonly tools: ToolsService) {}

  /** Every tool's name, description and input JSON Schema. */
  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List the tools agents can call, with their input schemas' })
  @ApiOkResponse({ description: 'Tools in name order', type: ToolListDto.Output })
  list(): ToolList {
    return this.tools.list();
  }
}
