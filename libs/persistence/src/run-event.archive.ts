import { RunEventV1 } from '@skreaver/contracts';

import { DataSource, MoreThan, Repository } from 'typeorm';

import { RunEventEntity } from './entities/run-event.entity';
import { HotSql } from './hot-sql';
import type { HotStatement } from './hot-sql';
import { fromJsonText, toJsonText } from './json-text';

// Rows of one INSERT statement; 8 bind parameters per row keeps it far below PostgreSQL's 65,535-parameter limit.
const ROWS_PER_STATEMENT = 100;

// ON CONFLICT DO NOTHING (SQLite ≥ 3.24, PostgreSQL) on any unique key: the event id, or the run and seq.
function insertStatement(rows: number): string {
  const values = Array.from({ length: rows }, (_, row) => `(${Array.from({ length: 8 }, (_, column) => `$${row * 8 + column + 1}`).join(', ')})`);
  return `INSERT INTO run_events (id, tenant_id, run_id, agent_id, seq, type, ts, data) VALUES ${values.join(', ')} ON CONFLICT DO NOTHING`;
}

/**
 * The durable archive of run event logs, keyed by event id so appends can be retried safely. An append is one
 * transaction of hand-written INSERTs (`HotSql`; on SQLite it shares its commit with the other writes of the moment).
 */
export class RunEventArchive {
  private readonly rows: Repository<RunEventEntity>;
  private readonly sql: HotSql;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(RunEventEntity);
    this.sql = new HotSql(dataSource);
  }

  /** Stores `events`; any whose id (or run and seq) is already stored is skipped, so a retried append is a no-op. */
  async append(events: readonly RunEventV1[]): Promise<void> {
    // Not parsed again: every event here went through RunEventV1 on its way into (or out of) the Redis log.
    if (events.length > 0) await this.sql.transaction(statementsFor(events.map(toRow)));
  }

  /**
   * A run's events in seq order, starting after `afterSeq` when given.
   * @throws when a stored row no longer matches `RunEventV1`.
   */
  async list(tenantId: string, runId: string, options: { afterSeq?: number; limit: number }): Promise<RunEventV1[]> {
    const rows = await this.rows.find({
      where: {
        tenant_id: tenantId,
        run_id: runId,
        ...(options.afterSeq === undefined ? {} : { seq: MoreThan(options.afterSeq) }),
      },
      order: { seq: 'ASC' },
      take: options.limit,
    });
    return rows.map(toEvent);
  }
}

/** Multi-row INSERTs of at most ROWS_PER_STATEMENT rows; a full chunk's statement is the same text every time (prepared once). */
function statementsFor(rows: readonly RunEventEntity[]): HotStatement[] {
  const statements: HotStatement[] = [];
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
    statements.push({
      sql: insertStatement(chunk.length),
      params: chunk.flatMap((row) => [row.id, row.tenant_id, row.run_id, row.agent_id, row.seq, row.type, row.ts, row.data]),
    });
  }
  return statements;
}

function toRow(event: RunEventV1): RunEventEntity {
  return {
    id: event.id,
    tenant_id: event.tenant_id,
    run_id: event.run_id,
    agent_id: event.agent_id,
    seq: event.seq,
    type: event.type,
    ts: event.ts,
    data: toJsonText(event.data),
  };
}

function toEvent(row: RunEventEntity): RunEventV1 {
  return RunEventV1.parse({
    id: row.id,
    tenant_id: row.tenant_id,
    run_id: row.run_id,
    agent_id: row.agent_id,
    seq: row.seq,
    type: row.type,
    ts: row.ts,
    data: fromJsonText(row.data),
  });
}
