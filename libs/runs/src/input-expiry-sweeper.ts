import type { JsonValue, RunJobV1 } from '@skreaver/contracts';
import type { JsonLogger } from '@skreaver/observability';
import type { AgentRepository, RunRepository } from '@skreaver/persistence';

import type { RunExecutor } from './execution/run-executor';
import { INPUT_DEFAULT_RESUMER, ResumeConflictError } from './run-resumer';
import type { RunResumer } from './run-resumer';

/** What one sweep did. */
export interface InputSweepReport {
  /** Runs failed with `input_timeout`. */
  timedOut: number;
  /** Runs resumed with their inputs' `default` answers. */
  defaulted: number;
}

/**
 * Ends the waits for input that expired. A run whose expired inputs all carry a `default` (set in the request) is
 * resumed with those answers (`run.resumed` by `input_timeout_default`); any other fails for good with
 * `input_timeout` (`run.failed`, final), its log archived and its lifecycle hooks told (a mesh requester gets its
 * reply). Idempotent and compare-and-set throughout: a resume racing the sweep wins or loses whole.
 */
export class InputExpirySweeper {
  constructor(
    private readonly runs: RunRepository,
    private readonly agents: AgentRepository,
    private readonly resumer: RunResumer,
    private readonly executor: Pick<RunExecutor, 'abandon'>,
    private readonly logger: JsonLogger,
    private readonly pageSize = 100,
  ) {}

  async sweep(now = Date.now()): Promise<InputSweepReport> {
    const report: InputSweepReport = { timedOut: 0, defaulted: 0 };
    const expiredBefore = new Date(now).toISOString();
    // A pass takes at most a page: the next pass picks up the rest.
    for (const run of await this.runs.listInputExpired(expiredBefore, this.pageSize)) {
      const agent = await this.agents.findById(run.tenant_id, run.agent_id);
      if (!agent) continue;
      const expired = run.pending_inputs.filter((input) => Date.parse(input.expires_at) <= now);
      if (expired.length === 0) continue;
      const waiting = run.pending_inputs.filter((input) => Date.parse(input.expires_at) > now);
      if (expired.every((input) => input.default !== undefined)) {
        // Still waiting for others: resumed once those are answered or expire too.
        if (waiting.length > 0) continue;
        const answers = Object.fromEntries(expired.map((input) => [input.id, input.default as JsonValue]));
        try {
          await this.resumer.resume(agent, run, answers, INPUT_DEFAULT_RESUMER, { acceptExpired: true });
          report.defaulted += 1;
        } catch (error) {
          if (!(error instanceof ResumeConflictError)) throw error;
        }
        continue;
      }
      const job: RunJobV1 = { run_id: run.id, agent_id: agent.id, tenant_id: run.tenant_id };
      const ids = expired.map((input) => input.id).join(', ');
      await this.executor.abandon(job, `no answer to ${ids} before the wait ended (${expired[0]?.expires_at})`, { code: 'input_timeout', from: ['waiting_input'] });
      report.timedOut += 1;
    }
    if (report.timedOut + report.defaulted > 0) this.logger.write('info', 'Ended expired waits for input', { ...report }, 'runs');
    return report;
  }
}
