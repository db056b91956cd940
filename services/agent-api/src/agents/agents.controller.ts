import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { AgentIdParams, CreateAgentRequest, ListAgentsQuery, UpdateAgentRequest } from '@skreaver/contracts';
import type { Agent, AgentList, AgentStatusReport, Principal } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { AgentsService } from './agents.service';

@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(@CurrentPrincipal() principal: Principal, @Body(new ZodValidationPipe(CreateAgentRequest)) body: CreateAgentRequest): Promise<Agent> {
    return this.agents.create(principal.tenant_id, body);
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query(new ZodValidationPipe(ListAgentsQuery, 'query')) query: ListAgentsQuery): Promise<AgentList> {
    return this.agents.list(principal.tenant_id, query);
  }

  @Get(':id')
  get(@CurrentPrincipal() principal: Principal, @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams): Promise<Agent> {
    return this.agents.get(principal.tenant_id, params.id);
  }

  @Get(':id/status')
  status(@CurrentPrincipal() principal: Principal, @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams): Promise<AgentStatusReport> {
    return this.agents.status(principal.tenant_id, params.id);
  }

  @Patch(':id')
  update(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Body(new ZodValidationPipe(UpdateAgentRequest)) body: UpdateAgentRequest,
  ): Promise<Agent> {
    return this.agents.update(principal.tenant_id, params.id, body);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async delete(@CurrentPrincipal() principal: Principal, @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams): Promise<void> {
    await this.agents.delete(principal, params.id);
  }
}
