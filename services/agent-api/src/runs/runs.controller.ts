import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  AgentIdParams,
  BatchRequest,
  CancelRunRequest,
  CreateRunQuery,
  CreateRunRequest,
  IdempotencyKey,
  ObserveRequest,
  RunEventsQuery,
  RunIdParams,
  RunSearchQuery,
} from '@skreaver/contracts';
import type { BatchResponse, ObserveResponse, Principal, RedrivenRun, Run, RunList } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { ObserveService } from './observe.service';
import { RunsService } from './runs.service';
import { openEventStream, resumeSeq, wantsEventStream } from './sse';

const ListRunsQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });
const OptionalIdempotencyKey = IdempotencyKey.optional();

@Controller()
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly observer: ObserveService,
  ) {}

  /** 202 with the queued run; with `?wait=N`, 200 with the finished run if it ends within N seconds. */
  @Post('agents/:id/runs')
  async create(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Query(new ZodValidationPipe(CreateRunQuery, 'query')) query: CreateRunQuery,
    @Headers('idempotency-key') rawKey: string | undefined,
    @Body(new ZodValidationPipe(CreateRunRequest)) body: CreateRunRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Run> {
    const idempotencyKey = new ZodValidationPipe(OptionalIdempotencyKey, 'headers').transform(rawKey);
    const { run, replayed } = await this.runs.submit(principal.tenant_id, params.id, body.input, { idempotencyKey });
    if (replayed) void reply.header('idempotency-replayed', 'true');
    const result = query.wait ? await this.runs.waitForEnd(principal.tenant_id, run.id, query.wait * 1000) : run;
    void reply.status(result.status === 'completed' || result.status === 'failed' || result.status === 'cancelled' ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return result;
  }

  /** Runs the agent and answers with its output (upstream Skreaver's shape). */
  @Post('agents/:id/observe')
  @HttpCode(HttpStatus.OK)
  observe(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Body(new ZodValidationPipe(ObserveRequest)) body: ObserveRequest,
  ): Promise<ObserveResponse> {
    return this.observer.observe(principal.tenant_id, params.id, body);
  }

  /** Runs the agent and streams its events as server-sent events until the run ends. */
  @Post('agents/:id/observe/stream')
  async observeStream(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Body(new ZodValidationPipe(ObserveRequest)) body: ObserveRequest,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { run } = await this.runs.submit(principal.tenant_id, params.id, body.input);
    const stream = openEventStream(request, reply);
    try {
      await this.runs.follow(principal.tenant_id, run.id, 0, (event) => stream.send(event), stream.signal);
    } finally {
      stream.end();
    }
  }

  /** Runs the agent once per input (under its concurrency policy) and answers with every outcome, in input order. */
  @Post('agents/:id/batch')
  @HttpCode(HttpStatus.OK)
  batch(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Body(new ZodValidationPipe(BatchRequest)) body: BatchRequest,
  ): Promise<BatchResponse> {
    return this.observer.batch(principal.tenant_id, params.id, body);
  }

  @Get('agents/:id/runs')
  async listByAgent(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(AgentIdParams, 'path parameters')) params: AgentIdParams,
    @Query(new ZodValidationPipe(ListRunsQuery, 'query')) query: z.infer<typeof ListRunsQuery>,
  ): Promise<RunList> {
    return { items: await this.runs.listByAgent(principal.tenant_id, params.id, query.limit) };
  }

  /** The tenant's runs, newest first; `?status=failed` (or `dead`) is the dead-letter list. */
  @Get('runs')
  async list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(RunSearchQuery, 'query')) query: RunSearchQuery,
  ): Promise<RunList> {
    return { items: await this.runs.list(principal.tenant_id, query) };
  }

  /** 202 with a new run re-submitting a failed run's input, linked by `redriven_from`; 409 unless the run failed. */
  @Post('runs/:id/redrive')
  @HttpCode(HttpStatus.ACCEPTED)
  redrive(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(RunIdParams, 'path parameters')) params: RunIdParams,
  ): Promise<RedrivenRun> {
    return this.runs.redrive(principal.tenant_id, params.id);
  }

  @Get('runs/:id')
  get(@CurrentPrincipal() principal: Principal, @Param(new ZodValidationPipe(RunIdParams, 'path parameters')) params: RunIdParams): Promise<Run> {
    return this.runs.get(principal.tenant_id, params.id);
  }

  /** JSON pages of the event log, or with `Accept: text/event-stream` the log and then live events (resumable). */
  @Get('runs/:id/events')
  async events(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(RunIdParams, 'path parameters')) params: RunIdParams,
    @Query(new ZodValidationPipe(RunEventsQuery, 'query')) query: RunEventsQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!wantsEventStream(request)) {
      await reply.send(await this.runs.events(principal.tenant_id, params.id, query.after, query.limit));
      return;
    }
    const afterSeq = resumeSeq(request, params.id, query.after);
    await this.runs.get(principal.tenant_id, params.id);
    const stream = openEventStream(request, reply);
    try {
      await this.runs.follow(principal.tenant_id, params.id, afterSeq, (event) => stream.send(event), stream.signal);
    } finally {
      stream.end();
    }
  }

  /** Cancels a queued run at once or asks the coordinator running it to abort; 409 when it already finished. */
  @Post('runs/:id/cancel')
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Param(new ZodValidationPipe(RunIdParams, 'path parameters')) params: RunIdParams,
    @Body(new ZodValidationPipe(CancelRunRequest)) body: CancelRunRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Run> {
    const run = await this.runs.cancel(principal.tenant_id, params.id, body.reason ?? 'cancelled by request', principal.subject);
    void reply.status(run.status === 'cancelled' ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return run;
  }
}
