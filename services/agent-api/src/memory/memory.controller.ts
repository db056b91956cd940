import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { MemoryEntry, MemoryPage, Principal } from '@skreaver/contracts';
import { ApiErrors, RequireRole } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { AgentIdParamsDto, MemoryEntryDto, MemoryEntryParamsDto, MemoryListQueryDto, MemoryPageDto, PutMemoryRequestDto } from '../dtos';
import { MemoryService } from './memory.service';

const NO_ENTRY = { 404: 'No such agent, or no live entry under the key' };

@ApiTags('memory')
@Controller('agents')
export class MemoryController {
  constructor(private readonly memory: MemoryService) {}

  @Get(':id/memory')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List an agent\'s memory entries in key order' })
  @ApiOkResponse({ description: 'A page; pass `next_after` as `after`', type: MemoryPageDto.Output })
  @ApiErrors({ 404: 'No such agent in the caller\'s tenant' })
  list(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParamsDto, @Query() query: MemoryListQueryDto): Promise<MemoryPage> {
    return this.memory.list(principal.tenant_id, params.id, query);
  }

  @Get(':id/memory/:key')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Read a memory entry' })
  @ApiOkResponse({ description: 'The entry', type: MemoryEntryDto.Output })
  @ApiErrors(NO_ENTRY)
  get(@CurrentPrincipal() principal: Principal, @Param() params: MemoryEntryParamsDto): Promise<MemoryEntry> {
    return this.memory.get(principal.tenant_id, params.id, params.key);
  }

  @Put(':id/memory/:key')
  @HttpCode(HttpStatus.OK)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Create or replace a memory entry' })
  @ApiOkResponse({ description: 'The stored entry', type: MemoryEntryDto.Output })
  @ApiErrors({ 404: 'No such agent in the caller\'s tenant', 409: '`memory_full`: the agent holds the most keys allowed', 413: '`memory_value_too_large`' })
  put(@CurrentPrincipal() principal: Principal, @Param() params: MemoryEntryParamsDto, @Body() body: PutMemoryRequestDto): Promise<MemoryEntry> {
    return this.memory.put(principal.tenant_id, params.id, params.key, body);
  }

  @Delete(':id/memory/:key')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Delete a memory entry' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(NO_ENTRY)
  async delete(@CurrentPrincipal() principal: Principal, @Param() params: MemoryEntryParamsDto): Promise<void> {
    await this.memory.delete(principal.tenant_id, params.id, params.key);
  }
}
