import { HttpStatus, Injectable } from '@nestjs/common';
import { TERMINAL_RUN_STATUSES } from '@skreaver/contracts';
import type { CreateRunQuery } from '@skreaver/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { RunsService } from './runs.service';
import type { Submitted } from './runs.service';
import { streamEvents } from './sse';

/** OpenAPI content of a server-sent event stream (the `?stream=true` answer and the event routes). */
export const EVENT_STREAM = { 'text/event-stream': { schema: { type: 'string' } } };

/**
 * How a route that creates a run answers once the run exists (`POST /agents/{id}/runs`, `POST /threads/{id}/runs`):
 * with `?stream=true` the run's events as server-sent events from its first until it ends or waits for input (the
 * stream ends after `run.waiting_input`, as `?wait` answers then; `message.delta` included, each with its id, so a
 * client that drops, or resumes the run, follows it at `GET /runs/{id}/events` with `Last-Event-ID`); with `?wait=N`
 * the run once finished (200), or once it waits for input or as it is after N seconds (202); else 202.
 * `Idempotency-Replayed: true` when an earlier request with the same key created the run.
 */
@Injectable()
export class RunResponder {
  constructor(private readonly runs: RunsService) {}

  async answer(tenantId: string, submitted: Submitted, query: CreateRunQuery, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const { run, replayed } = submitted;
    const headers: Record<string, string> = replayed ? { 'idempotency-replayed': 'true' } : {};
    if (query.stream) {
      await streamEvents(request, reply, (send, signal) => this.runs.follow(tenantId, run.id, 0, send, signal, { untilWaiting: true }), { ...headers, 'x-run-id': run.id });
      return;
    }
    const result = query.wait ? await this.runs.waitForEnd(tenantId, run.id, query.wait * 1000) : run;
    await reply
      .headers(headers)
      .status(TERMINAL_RUN_STATUSES.includes(result.status) ? HttpStatus.OK : HttpStatus.ACCEPTED)
      .send(result);
  }
}
