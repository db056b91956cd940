import { createHash } from 'node:crypto';

import { Inject, Injectable } from '@nestjs/common';
import type { JsonValue, Run, ResumeRunRequest } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { AgentRepository, RunRepository } from '@skreaver/persistence';
import { InvalidAnswerError, ResumeConflictError, RunResumer } from '@skreaver/runs';
import type { RedisClient } from '@skreaver/messaging';

import { databaseCall } from '../database-call';

/** How long a resume's Idempotency-Key is remembered. */
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

export interface Resumed {
  run: Run;
  /** True when an earlier request with the same Idempotency-Key and body resumed the run. */
  replayed: boolean;
}

/**
 * `POST /runs/{id}/resume`: answers a waiting run's inputs (or decides its approval) through the shared `RunResumer`
 * and maps its refusals to 409 / 422. With an Idempotency-Key, the first request with a key claims it in Redis (per
 * run, for a day) with the hash of its body; a repeat with the same body changes nothing and answers with the run as
 * it stands now (`replayed`), another body with that key is refused (422 `idempotency_key_reused`). A request that
 * fails gives its key back, so a corrected retry may use it.
 */
@Injectable()
export class RunResumeService {
  constructor(
    private readonly agents: AgentRepository,
    private readonly runs: RunRepository,
    private readonly resumer: RunResumer,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(MESSAGING_OPTIONS) private readonly messaging: MessagingOptions,
  ) {}

  async resume(tenantId: string, runId: string, body: ResumeRunRequest, by: string, idempotencyKey?: string): Promise<Resumed> {
    const run = await this.runOf(tenantId, runId);
    const key = idempotencyKey === undefined ? undefined : `${this.messaging.keyPrefix}:run-resume:{${run.id}}:${idempotencyKey}`;
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    if (key !== undefined && (await this.redis.set(key, hash, 'EX', IDEMPOTENCY_TTL_SECONDS, 'NX')) === null) {
      if ((await this.redis.get(key)) !== hash) throw new ApiError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different request body');
      return { run: await this.runOf(tenantId, runId), replayed: true };
    }
    try {
      const agent = await databaseCall(() => this.agents.findById(tenantId, run.agent_id));
      if (!agent) throw ApiError.notFound(`run ${runId}`);
      const answers: Record<string, JsonValue> = body.inputs ?? this.resumer.approvals(run, body.approve === true, body.reason);
      await databaseCall(() => this.resumer.resume(agent, run, answers, by));
      return { run: await this.runOf(tenantId, runId), replayed: false };
    } catch (error) {
      if (key !== undefined) await this.redis.del(key).catch(() => undefined);
      if (error instanceof ResumeConflictError) throw new ApiError(409, error.code, error.message);
      if (error instanceof InvalidAnswerError) throw new ApiError(422, 'input_invalid', error.message, { issues: error.issues });
      throw error;
    }
  }

  private async runOf(tenantId: string, runId: string): Promise<Run> {
    const run = await databaseCall(() => this.runs.findById(tenantId, runId));
    if (!run) throw ApiError.notFound(`run ${runId}`);
    return run;
  }
}
