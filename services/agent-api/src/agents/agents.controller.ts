import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { AgentIdParams, AgentList, CreateAgentRequest, DEFAULT_TENANT } from '@skreaver/contracts';
import type { Agent } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';
import { z } from 'zod';

import { AgentsService } from './agents.service';

const ListAgentsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

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
  async list(@Query(new ZodValidationPipe(ListAgentsQuery, 'query')) query: z.infer<typeof ListAgentsQuery>): Promise<AgentList> {
    return { items: await this.agents.list(tenant, query.limit) };
  }

  @Get(':id')
  get(@Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams): Promise<Agent> {
    return this.agents.get(tenant, params.id);
  }
}
