import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { IdempotencyKey } from '@skreaver/contracts';
import type { Principal, Thread, ThreadHistoryPage, ThreadList } from '@skreaver/contracts';
import { ApiErrors, RequestId, RequireRole, requestContextOf, ZodValidationPipe, openApiSchemaOf } from '@skreaver/http';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { CreateRunQueryDto, RunDto } from '../dtos';
import { EVENT_STREAM, RunResponder } from '../runs/run-responder';
import {
  CreateThreadRequestDto,
  CreateThreadRunRequestDto,
  ListThreadsQueryDto,
  ThreadDto,
  ThreadHistoryPageDto,
  ThreadHistoryQueryDto,
  ThreadIdParamsDto,
  ThreadListDto,
  UpdateThreadRequestDto,
} from './threads.dtos';
import { ThreadsService } from './threads.service';

const OptionalIdempotencyKey = IdempotencyKey.optional();
const THREAD_NOT_FOUND = { 404: 'No such thread in the caller\'s tenant' };

@ApiTags('threads')
@Controller('threads')
export class ThreadsController {
  constructor(
    private readonly threads: ThreadsService,
    private readonly responder: RunResponder,
  ) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Create a thread (a conversation with an agent)' })
  @ApiCreatedResponse({ description: 'The thread', type: ThreadDto.Output })
  @ApiErrors({ 404: 'No such agent in the caller\'s tenant' })
  create(@CurrentPrincipal() principal: Principal, @Body() body: CreateThreadRequestDto): Promise<Thread> {
    return this.threads.create(principal.tenant_id, body);
  }

  @Get()
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List threads, newest first' })
  @ApiOkResponse({ description: 'A page; pass `next_cursor` as `cursor`', type: ThreadListDto.Output })
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListThreadsQueryDto): Promise<ThreadList> {
    return this.threads.list(principal.tenant_id, query);
  }

  @Get(':id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Read a thread' })
  @ApiOkResponse({ description: 'The thread', type: ThreadDto.Output })
  @ApiErrors(THREAD_NOT_FOUND)
  get(@CurrentPrincipal() principal: Principal, @Param() params: ThreadIdParamsDto): Promise<Thread> {
    return this.threads.get(principal.tenant_id, params.id);
  }

  @Patch(':id')
  @RequireRole('operator')
  @ApiOperation({ summary: 'Change a thread\'s metadata or double-texting policy' })
  @ApiOkResponse({ description: 'The updated thread', type: ThreadDto.Output })
  @ApiErrors(THREAD_NOT_FOUND)
  update(@CurrentPrincipal() principal: Principal, @Param() params: ThreadIdParamsDto, @Body() body: UpdateThreadRequestDto): Promise<Thread> {
    return this.threads.update(principal.tenant_id, params.id, body);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Delete a thread (cancels its open runs; its runs stay readable, its state and checkpoints go)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(THREAD_NOT_FOUND)
  async delete(@CurrentPrincipal() principal: Principal, @Param() params: ThreadIdParamsDto, @RequestId() requestId: string): Promise<void> {
    await this.threads.delete(principal, params.id, requestId);
  }

  /**
   * 202 with the queued run; with `?wait=N`, 200 with the finished run if it ends within N seconds; with
   * `?stream=true`, 200 with the run's events as server-sent events until it ends or waits for input.
   */
  @Post(':id/runs')
  @RequireRole('operator')
  @ApiOperation({
    summary: 'Send the thread its next input (a run of its agent), or fork it',
    description:
      'Same options as `POST /agents/{id}/runs` (`?wait=N`, `?stream=true` for its events, `message.delta` included, as server-sent events until the run ends or waits for input; `Idempotency-Key`). With `checkpoint_id`, a new thread forked from that checkpoint runs the input; the run\'s `thread_id` names it.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Same key and body: the first run again (`Idempotency-Replayed: true`); same key, other body: 422',
    schema: openApiSchemaOf(IdempotencyKey),
  })
  @ApiExtraModels(RunDto.Output)
  @ApiOkResponse({
    description: 'The run finished within `wait`; or, with `stream=true`, its events',
    content: { 'application/json': { schema: { $ref: getSchemaPath(RunDto.Output) } }, ...EVENT_STREAM },
  })
  @ApiAcceptedResponse({ description: 'The run, queued or still running', type: RunDto.Output })
  @ApiErrors({
    404: 'No such thread (or checkpoint of it) in the caller\'s tenant',
    409: '`thread_busy`: the thread\'s double-texting policy is `reject` and a run of it is open; `agent_busy`: the agent\'s policy is `reject` and it is working',
    422: '`idempotency_key_reused` with another body',
  })
  async run(
    @CurrentPrincipal() principal: Principal,
    @Param() params: ThreadIdParamsDto,
    @Query() query: CreateRunQueryDto,
    @Headers('idempotency-key') rawKey: string | undefined,
    @Body() body: CreateThreadRunRequestDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const idempotencyKey = new ZodValidationPipe(OptionalIdempotencyKey, 'headers').transform(rawKey);
    const submitted = await this.threads.run(principal.tenant_id, params.id, body, { idempotencyKey, log: requestContextOf(request) });
    await this.responder.answer(principal.tenant_id, submitted, query, request, reply);
  }

  @Get(':id/history')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'A thread\'s checkpoints, newest first (one per completed run)' })
  @ApiOkResponse({ description: 'A page; pass `next_before` as `before`', type: ThreadHistoryPageDto.Output })
  @ApiErrors(THREAD_NOT_FOUND)
  history(@CurrentPrincipal() principal: Principal, @Param() params: ThreadIdParamsDto, @Query() query: ThreadHistoryQueryDto): Promise<ThreadHistoryPage> {
    return this.threads.history(principal.tenant_id, params.id, query);
  }
}
