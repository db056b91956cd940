import { Inject, Injectable } from '@nestjs/common';
import type { BatchRequest, BatchResponse, ObserveRequest, ObserveResponse, Run } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import type { RequestContext } from '@skreaver/observability';

import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';
import { RunsService } from './runs.service';

/** The synchronous ways to run an agent: observe one input, or a batch, and answer with the outcome. */
@Injectable()
export class ObserveService {
  constructor(
    private readonly runs: RunsService,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
  ) {}

  /** 200 with the output; 502 `run_failed` if the run failed or was cancelled; 504 `run_timeout` (it goes on). */
  async observe(tenantId: string, agentId: string, request: ObserveRequest, log?: RequestContext): Promise<ObserveResponse> {
    const { run } = await this.runs.submit(tenantId, agentId, request.input, { log });
    const finished = await this.runs.waitForEnd(tenantId, run.id, this.timeoutMs(request.timeout_seconds));
    if (finished.status === 'completed') {
      return { agent_id: finished.agent_id, run_id: finished.id, response: finished.output, timestamp: finished.finished_at ?? finished.created_at };
    }
    if (finished.status === 'failed' || finished.status === 'cancelled') {
      throw new ApiError(502, 'run_failed', `run ${finished.id} ${finished.status}: ${finished.error?.message ?? 'no reason given'}`, {
        run_id: finished.id,
        status: finished.status,
        error: finished.error,
      });
    }
    if (finished.status === 'waiting_input') {
      throw new ApiError(409, 'run_waiting_input', `run ${finished.id} waits for input; answer it with POST /runs/${finished.id}/resume`, {
        run_id: finished.id,
        pending_inputs: finished.pending_inputs,
      });
    }
    throw new ApiError(504, 'run_timeout', `run ${finished.id} did not finish in time; it continues (GET /runs/${finished.id})`, {
      run_id: finished.id,
    });
  }

  /** Submits every input in order (so `enqueue` agents run them in that order), then waits for all until one deadline. */
  async batch(tenantId: string, agentId: string, request: BatchRequest, log?: RequestContext): Promise<BatchResponse> {
    const deadline = Date.now() + this.timeoutMs(request.timeout_seconds);
    const submitted: Run[] = [];
    for (const input of request.inputs) submitted.push((await this.runs.submit(tenantId, agentId, input, { log })).run);
    const finished = await Promise.all(
      submitted.map((run) => this.runs.waitForEnd(tenantId, run.id, Math.max(0, deadline - Date.now()))),
    );
    return {
      agent_id: agentId,
      items: finished.map((run) => ({ run_id: run.id, status: run.status, output: run.output, error: run.error })),
    };
  }

  private timeoutMs(seconds: number | undefined): number {
    return (seconds ?? this.config.RUN_WAIT_DEFAULT_SECONDS) * 1000;
  }
}
