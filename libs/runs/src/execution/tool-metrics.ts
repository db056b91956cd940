import { Injectable } from '@nestjs/common';
import { counter, histogram } from '@skreaver/observability';

/** Tool executions as operators graph them. */
@Injectable()
export class ToolMetrics {
  readonly total = counter({
    name: 'skreaver_tool_exec_total',
    help: 'Tool executions, by tool and outcome (ok, error)',
    labelNames: ['tool', 'status'],
  });

  readonly duration = histogram({
    name: 'skreaver_tool_exec_duration_seconds',
    help: 'Duration of one tool execution',
    labelNames: ['tool'],
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
  });

  /** Records one execution (the `ToolObserver` the agent runner calls). */
  observe(tool: string, ok: boolean, seconds: number): void {
    this.total.inc({ tool, status: ok ? 'ok' : 'error' });
    this.duration.observe({ tool }, seconds);
  }
}
