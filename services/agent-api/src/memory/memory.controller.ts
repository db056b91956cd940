import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Put, Query } from '@nestjs/common';
import { AgentIdParams, MemoryEntryParams, MemoryListQuery, PutMemoryRequest } from '@skreaver/contracts';
import type { MemoryEntry, MemoryPage, Principal } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { MemoryService } from './memory.service';

@Controller('agents')
export class MemoryController {
  constructor(private readonly memory: MemoryService) {}

  @Get(':id/memory')
  list(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Query(new ZodValidationPipe(MemoryListQuery, 'query')) query: MemoryListQuery,
  ): Promise<MemoryPage> {
    return this.memory.list(principal.tenant_id, params.id, query);
  }

  @Get(':id/memory/:key')
  get(@CurrentPrincipal() principal: Principal, @Param(new ZodValidationPipe(MemoryEntryParams, 'path parameters')) params: MemoryEntryParams): Promise<MemoryEntry> {
    return this.memory.get(principal.tenant_id, params.id, params.key);
  }

  @Put(':id/memory/:key')
  @HttpCode(HttpStatus.OK)
  put(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(MemoryEntryParams, 'path parameters')) params: MemoryEntryParams,
    @Body(new ZodValidationPipe(PutMemoryRequest)) body: PutMemoryRequest,
  ): Promise<MemoryEntry> {
    return this.memory.put(principal.tenant_id, params.id, params.key, body);
  }

  @Delete(':id/memory/:key')
  @HttpCode(HttpStatus.NO_CONTENT)
  async delete(@CurrentPrincipal() principal: Principal, @Param(new ZodValidationPipe(MemoryEntryParams, 'path parameters')) params: MemoryEntryParams): Promise<void> {
    await this.memory.delete(principal.tenant_id, params.id, params.key);
  }
}
