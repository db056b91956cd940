import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Agent, AgentList, AgentStatusReport, Principal } from '@skreaver/contracts';
import { ApiErrors, RequestId, RequireRole } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import {
  AgentDto,
  AgentIdParamsDto,
  AgentListDto,
  AgentStatusReportDto,
  CreateAgentRequestDto,
  ListAgentsQueryDto,
  UpdateAgentRequestDto,
} from '../dtos';
import { AgentsService } from './agents.service';

const AGENT_NOT_FOUND = { 404: 'No such agent in the caller\'s tenant' };

@ApiTags('agents')
@Controller('agents')
export class AgentsController {
  constructor(private readonly agents: AgentsService) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Create an agent', description: 'The config is checked against the kind\'s schema.' })
  @ApiCreatedResponse({ description: 'The agent', type: AgentDto.Output })
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateAgentRequestDto): Promise<Agent> {
    return this.agents.create(principal.tenant_id, body);
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List agents, newest first' })
  @ApiOkResponse({ description: 'A page; pass `next_cursor` as `cursor`', type: AgentListDto.Output })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListAgentsQueryDto): Promise<AgentList> {
    return this.agents.list(principal.tenant_id, query);
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Read an agent' })
  @ApiOkResponse({ description: 'The agent', type: AgentDto.Output })
  @ApiErrors(AGENT_NOT_FOUND)
  get(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParamsDto): Promise<Agent> {
    return this.agents.get(principal.tenant_id, params.id);
  }

  @Get(':id/status')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'What an agent is doing and how much work waits for it' })
  @ApiOkResponse({ description: 'Status and queue depth', type: AgentStatusReportDto.Output })
  @ApiErrors(AGENT_NOT_FOUND)
  status(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParamsDto): Promise<AgentStatusReport> {
    return this.agents.status(principal.tenant_id, params.id);
  }

  @Patch(':id')
  @RequireRole('operator')
  @ApiOperation({ summary: 'Change an agent\'s name, config or concurrency policy' })
  @ApiOkResponse({ description: 'The updated agent', type: AgentDto.Output })
  @ApiErrors(AGENT_NOT_FOUND)
  update(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParamsDto, @Body() body: UpdateAgentRequestDto): Promise<Agent> {
    return this.agents.update(principal.tenant_id, params.id, body);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Delete an agent (cancels its queued runs, deletes its memory)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(AGENT_NOT_FOUND)
  async delete(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParamsDto, @RequestId() requestId: string): Promise<void> {
    await this.agents.delete(principal, params.id, requestId);
  }
}
