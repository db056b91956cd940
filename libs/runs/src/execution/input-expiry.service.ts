import { Inject, Injectable } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { JsonLogger, counter } from '@skreaver/observability';
import { AgentRepository, RunRepository } from '@skreaver/persistence';
import type { RedisClient } from '@skreaver/messaging';

import { InputExpirySweeper } from '../input-expiry-sweeper';
import type { InputSweepReport } from '../input-expiry-sweeper';
import { PeriodicPass, takeTurn } from '../periodic-pass';
import { RunResumer } from '../run-resumer';
import { RUN_EXECUTION_CONFIG } from './run-execution.tokens';
import type { RunExecutionConfig } from './run-execution.config';
import { RunExecutor } from './run-executor';

const ended = counter({
  name: 'skreaver_run_input_waits_expired_total',
  help: 'Waits for human input that expired, by outcome (timed_out: the run failed with input_timeout; defaulted: it went on with the default answer)',
  labelNames: ['outcome'],
});

/**
 * Runs the `InputExpirySweeper` every RUN_INPUT_SWEEP_INTERVAL_MS in every process that executes runs (coordinators;
 * agent-api in direct mode), one process per interval: each pass is taken by whoever sets the turn key first.
 */
@Injectable()
export class InputExpiryService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly sweeper: InputExpirySweeper;
  private readonly periodic: PeriodicPass;
  private readonly turnKey: string;

  constructor(
    runs: RunRepository,
    agents: AgentRepository,
    resumer: RunResumer,
    executor: RunExecutor,
    private readonly logger: JsonLogger,
    @Inject(REDIS) private readonly redis: RedisClient,
    @Inject(MESSAGING_OPTIONS) messaging: MessagingOptions,
    @Inject(RUN_EXECUTION_CONFIG) private readonly config: Pick<RunExecutionConfig, 'WORKER_ID' | 'RUN_INPUT_SWEEP_INTERVAL_MS'>,
  ) {
    this.sweeper = new InputExpirySweeper(runs, agents, resumer, executor, logger);
    this.turnKey = `${messaging.keyPrefix}:runs:input-sweeper-turn`;
    // Redis or the database down: the next pass tries again; an expired wait only ends a little later.
    this.periodic = new PeriodicPass({ intervalMs: config.RUN_INPUT_SWEEP_INTERVAL_MS, pass: () => this.pass(), logger, failure: 'Input expiry sweep failed' });
  }

  onApplicationBootstrap(): void {
    this.periodic.start();
  }

  /** One sweep if it is this process's turn; the report, or null when another process has the turn. */
  async pass(now = Date.now()): Promise<InputSweepReport | null> {
    const interval = this.config.RUN_INPUT_SWEEP_INTERVAL_MS;
    if (!(await takeTurn(this.redis, this.turnKey, this.config.WORKER_ID, interval))) return null;
    const report = await this.sweeper.sweep(now);
    if (report.timedOut > 0) ended.inc({ outcome: 'timed_out' }, report.timedOut);
    if (report.defaulted > 0) ended.inc({ outcome: 'defaulted' }, report.defaulted);
    return report;
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.periodic.stop();
  }
}
