import { Body, Controller, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { AgentIdParams, CreateRunRequest, DEFAULT_TENANT, RunEventsQuery, RunIdParams } from '@skreaver/contracts';
import type { Run, RunEventsPage, RunList } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';
import { z } from 'zod';

import { RunsService } from './runs.service';

const ListRunsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

// Until auth lands every caller acts in the default tenant.
const tenant = DEFAULT_TENANT;

@Controller()
export class RunsController {
  constructor(private readonly runs: RunsService) {}

  @Post('agents/:id/runs')
  @HttpCode(HttpStatus.ACCEPTED)
  create(
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Body(new ZodValidationPipe(CreateRunRequest)) body: CreateRunRequest,
  ): Promise<Run> {
    return this.runs.create(tenant, params.id, body.input);
  }

  @Get('agents/:id/runs')
  async listByAgent(
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Query(new ZodValidationPipe(ListRunsQuery, 'query')) query: z.infer<typeof ListRunsQuery>,
  ): Promise<RunList> {
    return { items: await this.runs.listByAgent(tenant, params.id, query.limit) };
  }

  @Get('runs/:id')
  get(@Param(new ZodValidationPipe(RunIdParams, 'path parameters')) params: RunIdParams): Promise<Run> {
    return this.runs.get(tenant, params.id);
  }

  @Get('runs/:id/events')
  events(
    @Param(new ZodValidationPipe(RunIdParams, 'path parameters')) params: RunIdParams,
    @Query(new ZodValidationPipe(RunEventsQuery, 'query')) query: RunEventsQuery,
  ): Promise<RunEventsPage> {
    return this.runs.events(tenant, params.id, query.after, query.limit);
  }
}
