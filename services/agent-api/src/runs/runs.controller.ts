import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { IdempotencyKey } from '@skreaver/contracts';
import type { BatchResponse, ObserveResponse, Principal, RedrivenRun, Run, RunList } from '@skreaver/contracts';
import { ApiErrors, RequestLog, RequireRole, openApiSchemaOf, parseRequestPart, requestContextOf } from '@skreaver/http';
import type { RequestContext } from '@skreaver/observability';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import {
  AgentIdParamsDto,
  AgentRunsQueryDto,
  BatchRequestDto,
  BatchResponseDto,
  CancelRunRequestDto,
  CreateRunQueryDto,
  CreateRunRequestDto,
  ObserveRequestDto,
  ObserveResponseDto,
  RedrivenRunDto,
  ResumeRunRequestDto,
  RunDto,
  RunEventsPageDto,
  RunEventsQueryDto,
  RunIdParamsDto,
  RunListDto,
  RunSearchQueryDto,
} from '../dtos';
import { ObserveService } from './observe.service';
import { EVENT_STREAM, RunResponder } from './run-responder';
import { RunResumeService } from './run-resume.service';
import { RunsService } from './runs.service';
import { resumeSeq, streamEvents, wantsEventStream } from './sse';

// Most requests carry no Idempotency-Key: only a present header is parsed (one schema, no pipe object per request).
const idempotencyKeyOf = (rawKey: string | undefined): string | undefined =>
  rawKey === undefined ? undefined : parseRequestPart(IdempotencyKey, rawKey, 'headers');
const AGENT_NOT_FOUND = { 404: 'No such agent in the caller\'s tenant' };
const RUN_NOT_FOUND = { 404: 'No such run in the caller\'s tenant' };

@ApiTags('runs')
@Controller()
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly observer: ObserveService,
    private readonly responder: RunResponder,
    private readonly resumer: RunResumeService,
  ) {}

  /**
   * 202 with the queued run; with `?wait=N`, 200 with the finished run if it ends within N seconds; with
   * `?stream=true`, 200 with the run's events as server-sent events until it ends or waits for input.
   */
  @Post('agents/:id/runs')
  @RequireRole('operator')
  @ApiOperation({
    summary: 'Start a run',
    description:
      'With `?wait=N`, waits up to N seconds: 200 with the finished run, or 202 if it is still going. With `?stream=true`, answers with the run\'s events as server-sent events (`message.delta` included) until it ends, or until `run.waiting_input` (resume it, then follow `GET /runs/{id}/events` with `Last-Event-ID`); `X-Run-Id` names the run.',
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
  @ApiErrors({ ...AGENT_NOT_FOUND, 409: '`agent_busy`: the agent\'s policy is `reject` and it is working', 422: '`idempotency_key_reused` with another body' })
  async create(
    @CurrentPrincipal() principal: Principal,
    @Param() params: AgentIdParamsDto,
    @Query() query: CreateRunQueryDto,
    @Headers('idempotency-key') rawKey: string | undefined,
    @Body() body: CreateRunRequestDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const idempotencyKey = idempotencyKeyOf(rawKey);
    const submitted = await this.runs.submit(principal.tenant_id, params.id, body.input, { idempotencyKey, log: requestContextOf(request) });
    await this.responder.answer(principal.tenant_id, submitted, query, request, reply);
  }

  /** Runs the agent and answers with its output (upstream Skreaver's shape). */
  @Post('agents/:id/observe')
  @HttpCode(HttpStatus.OK)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Run the agent and answer with its output' })
  @ApiOkResponse({ description: 'The output, in upstream Skreaver\'s shape', type: ObserveResponseDto.Output })
  @ApiErrors({ ...AGENT_NOT_FOUND, 409: '`agent_busy`', 502: '`run_failed`: the run failed or was cancelled', 504: '`run_timeout`: no result in time (the run goes on)' })
  observe(
    @CurrentPrincipal() principal: Principal,
    @Param() params: AgentIdParamsDto,
    @Body() body: ObserveRequestDto,
    @RequestLog() log: RequestContext,
  ): Promise<ObserveResponse> {
    return this.observer.observe(principal.tenant_id, params.id, body, log);
  }

  /** Runs the agent and streams its events as server-sent events until the run ends. */
  @Post('agents/:id/observe/stream')
  @RequireRole('operator')
  @ApiOperation({ summary: 'Run the agent and stream its events until the run ends' })
  @ApiOkResponse({ description: 'Server-sent events, one per run event (`RunEvent` in `data`)', content: EVENT_STREAM })
  @ApiErrors({ ...AGENT_NOT_FOUND, 409: '`agent_busy`' })
  async observeStream(
    @CurrentPrincipal() principal: Principal,
    @Param() params: AgentIdParamsDto,
    @Body() body: ObserveRequestDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { run } = await this.runs.submit(principal.tenant_id, params.id, body.input, { log: requestContextOf(request) });
    await streamEvents(request, reply, (send, signal) => this.runs.follow(principal.tenant_id, run.id, 0, send, signal));
  }

  /** Runs the agent once per input (under its concurrency policy) and answers with every outcome, in input order. */
  @Post('agents/:id/batch')
  @HttpCode(HttpStatus.OK)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Run the agent once per input and answer with every outcome' })
  @ApiOkResponse({ description: 'One item per input, in input order', type: BatchResponseDto.Output })
  @ApiErrors(AGENT_NOT_FOUND)
  batch(
    @CurrentPrincipal() principal: Principal,
    @Param() params: AgentIdParamsDto,
    @Body() body: BatchRequestDto,
    @RequestLog() log: RequestContext,
  ): Promise<BatchResponse> {
    return this.observer.batch(principal.tenant_id, params.id, body, log);
  }

  @Get('agents/:id/runs')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List an agent\'s runs, newest first' })
  @ApiOkResponse({ description: 'Runs', type: RunListDto.Output })
  @ApiErrors(AGENT_NOT_FOUND)
  listByAgent(@CurrentPrincipal() principal: Principal, @Param() params: AgentIdParamsDto, @Query() query: AgentRunsQueryDto): Promise<RunList> {
    return this.runs.listByAgent(principal.tenant_id, params.id, query);
  }

  /** The tenant's runs, newest first; `?status=failed` (or `dead`) is the dead-letter list. */
  @Get('runs')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'List the tenant\'s runs; `?status=failed` is the dead-letter list' })
  @ApiOkResponse({ description: 'Runs, newest first', type: RunListDto.Output })
  list(@CurrentPrincipal() principal: Principal, @Query() query: RunSearchQueryDto): Promise<RunList> {
    return this.runs.list(principal.tenant_id, query);
  }

  /** 202 with a new run re-submitting a failed run's input, linked by `redriven_from`; 409 unless the run failed. */
  @Post('runs/:id/redrive')
  @HttpCode(HttpStatus.ACCEPTED)
  @RequireRole('operator')
  @ApiOperation({ summary: 'Start a new run with a failed run\'s input' })
  @ApiAcceptedResponse({ description: 'The new run, linked by `redriven_from`', type: RedrivenRunDto.Output })
  @ApiErrors({ ...RUN_NOT_FOUND, 409: 'The run did not fail' })
  redrive(@CurrentPrincipal() principal: Principal, @Param() params: RunIdParamsDto, @RequestLog() log: RequestContext): Promise<RedrivenRun> {
    return this.runs.redrive(principal.tenant_id, params.id, log);
  }

  @Get('runs/:id')
  @RequireRole('viewer')
  @ApiOperation({ summary: 'Read a run' })
  @ApiOkResponse({ description: 'The run', type: RunDto.Output })
  @ApiErrors(RUN_NOT_FOUND)
  get(@CurrentPrincipal() principal: Principal, @Param() params: RunIdParamsDto): Promise<Run> {
    return this.runs.get(principal.tenant_id, params.id);
  }

  /** JSON pages of the event log, or with `Accept: text/event-stream` the log and then live events (resumable). */
  @Get('runs/:id/events')
  @RequireRole('viewer')
  @ApiOperation({
    summary: 'Read a run\'s event log, or follow it live',
    description:
      'With `Accept: text/event-stream`: server-sent events (`id`, `event`, `data` per event, keep-alive comments), resumable with `Last-Event-ID`.',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'Resume a stream after this event id (wins over `after`)', schema: openApiSchemaOf(z.string().max(128)) })
  @ApiExtraModels(RunEventsPageDto.Output)
  @ApiOkResponse({
    description: 'A page of events, oldest first; or a stream of them',
    content: { 'application/json': { schema: { $ref: getSchemaPath(RunEventsPageDto.Output) } }, ...EVENT_STREAM },
  })
  @ApiErrors(RUN_NOT_FOUND)
  async events(
    @CurrentPrincipal() principal: Principal,
    @Param() params: RunIdParamsDto,
    @Query() query: RunEventsQueryDto,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!wantsEventStream(request)) {
      await reply.send(await this.runs.events(principal.tenant_id, params.id, query.after, query.limit));
      return;
    }
    const afterSeq = resumeSeq(request, params.id, query.after);
    await this.runs.get(principal.tenant_id, params.id);
    await streamEvents(request, reply, (send, signal) => this.runs.follow(principal.tenant_id, params.id, afterSeq, send, signal));
  }

  /** Answers a waiting run's inputs (or decides its approval) and queues the same run again; it replays its journal. */
  @Post('runs/:id/resume')
  @HttpCode(HttpStatus.OK)
  @RequireRole('operator')
  @ApiOperation({
    summary: 'Answer a run waiting for input',
    description:
      'The run (`waiting_input`) is queued again under the same id and replays from the start: completed steps return their recorded results, the answered input returns its answer.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Same key and body: nothing done twice, the run as it stands (`Idempotency-Replayed: true`); same key, other body: 422',
    schema: openApiSchemaOf(IdempotencyKey),
  })
  @ApiOkResponse({ description: 'The run, queued again', type: RunDto.Output })
  @ApiErrors({
    ...RUN_NOT_FOUND,
    409: '`run_not_waiting`, `input_unknown`, `input_expired` or `input_already_answered`',
    422: '`input_invalid`: an answer does not satisfy its schema or a pending input is unanswered (`details.issues`); `idempotency_key_reused`',
  })
  async resume(
    @CurrentPrincipal() principal: Principal,
    @Param() params: RunIdParamsDto,
    @Headers('idempotency-key') rawKey: string | undefined,
    @Body() body: ResumeRunRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Run> {
    const idempotencyKey = idempotencyKeyOf(rawKey);
    const { run, replayed } = await this.resumer.resume(principal.tenant_id, params.id, body, principal.subject, idempotencyKey);
    if (replayed) void reply.header('idempotency-replayed', 'true');
    return run;
  }

  /** Cancels a queued run at once or asks the coordinator running it to abort; 409 when it already finished. */
  @Post('runs/:id/cancel')
  @RequireRole('operator')
  @ApiOperation({ summary: 'Cancel a run' })
  @ApiBody({ type: CancelRunRequestDto, required: false })
  @ApiOkResponse({ description: 'Cancelled at once (it was queued)', type: RunDto.Output })
  @ApiAcceptedResponse({ description: 'Its coordinator was asked to abort it', type: RunDto.Output })
  @ApiErrors({ ...RUN_NOT_FOUND, 409: 'The run already finished' })
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Param() params: RunIdParamsDto,
    @Body() body: CancelRunRequestDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Run> {
    const run = await this.runs.cancel(principal.tenant_id, params.id, body.reason ?? 'cancelled by request', principal.subject);
    void reply.status(run.status === 'cancelled' ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return run;
  }
}
