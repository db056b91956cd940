import type { JsonLogger } from '@skreaver/observability';

const DAY_MS = 86_400_000;

/** What is kept how long, in days; 0 keeps it forever. */
export interface RetentionPolicy {
  /** Finished runs (completed, failed, cancelled), counted from `finished_at`, with their archived events and steps. */
  runsDays: number;
  /** Audit log entries, counted from `ts`. */
  auditDays: number;
  /** Mesh dead letters, counted from when they were dead-lettered (their stream id). */
  deadLettersDays: number;
  /** Rows or entries one delete statement removes at most. */
  batchSize: number;
  /** A pass stops starting new batches after this long; the next pass goes on where it stopped. */
  passBudgetMs: number;
}

/** The three kinds a sweep deletes, as the metrics label them. */
export const RETENTION_KINDS = ['runs', 'audit', 'dead_letters'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

/** Deletes up to `limit` of a kind's items older than `before` (ISO timestamp and epoch ms); returns how many. */
export type RetentionDelete = (before: { iso: string; ms: number }, limit: number) => Promise<number>;

/** How many items of each kind one sweep deleted. */
export type RetentionReport = Record<RetentionKind, number>;

/**
 * Deletes what outlived its retention, kind by kind, in batches of `batchSize` until a batch comes back short (nothing
 * old is left) or the pass budget is spent: a table with a year of backlog is worked off over several passes instead
 * of one statement that locks it for minutes. Idempotent; a failure of one kind is logged and the others still run.
 */
export class RetentionSweeper {
  constructor(
    private readonly policy: RetentionPolicy,
    private readonly deletes: Record<RetentionKind, RetentionDelete>,
    private readonly logger: JsonLogger,
  ) {}

  /** The retention in days of each kind (0: kept forever). */
  get days(): Record<RetentionKind, number> {
    return { runs: this.policy.runsDays, audit: this.policy.auditDays, dead_letters: this.policy.deadLettersDays };
  }

  async sweep(now = Date.now()): Promise<RetentionReport> {
    const report: RetentionReport = { runs: 0, audit: 0, dead_letters: 0 };
    const deadline = performance.now() + this.policy.passBudgetMs;
    for (const kind of RETENTION_KINDS) {
      const days = this.days[kind];
      if (days === 0) continue;
      const ms = now - days * DAY_MS;
      const before = { iso: new Date(ms).toISOString(), ms };
      try {
        for (;;) {
          const deleted = await this.deletes[kind](before, this.policy.batchSize);
          report[kind] += deleted;
          if (deleted < this.policy.batchSize || performance.now() > deadline) break;
        }
      } catch (error) {
        // Redis or the database down: the next pass tries again; items only live a little longer.
        this.logger.write('warn', 'Retention sweep failed', { kind, error: String(error) }, 'runs');
      }
    }
    if (report.runs + report.audit + report.dead_letters > 0) this.logger.write('info', 'Deleted what outlived its retention', { ...report }, 'runs');
    return report;
  }
}
