import { Injectable } from '@nestjs/common';
import { counter, gauge, histogram } from '@skreaver/observability';

/** Run outcomes as operators graph them. */
@Injectable()
export class RunMetrics {
  readonly total = counter({
    name: 'skreaver_runs_total',
    help: 'Run attempts finished, by agent kind and outcome (completed, failed, retried)',
    labelNames: ['kind', 'status'],
  });

  readonly duration = histogram({
    name: 'skreaver_run_duration_seconds',
    help: 'Duration of one run attempt, from start to outcome',
    labelNames: ['kind', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  });

  readonly active = gauge({ name: 'skreaver_runs_active', help: 'Run attempts executing in this process' });
}
