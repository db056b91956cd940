import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { AgentIdParams, CreateAgentRequest, DEFAULT_TENANT, ListAgentsQuery, UpdateAgentRequest } from '@skreaver/contracts';
import type { Agent, AgentList, AgentStatusReport } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';

import { AgentsService } from './agents.service';

// Until auth lands every caller acts in the default tenant.
const tenant = DEFAULT_TENANT;

@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  create(@Body(new ZodValidationPipe(CreateAgentRequest)) body: CreateAgentRequest): Promise<Agent> {
    return this.agents.create(tenant, body);
  }

  @Get()
  list(@Query(new ZodValidationPipe(ListAgentsQuery, 'query')) query: ListAgentsQuery): Promise<AgentList> {
    return this.agents.list(tenant, query);
  }

  @Get(':id')
  get(@Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams): Promise<Agent> {
    return this.agents.get(tenant, params.id);
  }

  @Get(':id/status')
  status(@Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams): Promise<AgentStatusReport> {
    return this.agents.status(tenant, params.id);
  }

  @Patch(':id')
  update(
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Body(new ZodValidationPipe(UpdateAgentRequest)) body: UpdateAgentRequest,
  ): Promise<Agent> {
    return this.agents.update(tenant, params.id, body);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  async delete(@Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams): Promise<void> {
    await this.agents.delete(tenant, params.id, 'api');
  }
}
