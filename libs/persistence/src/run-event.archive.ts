import { RunEventV1 } from '@skreaver/contracts';

import { DataSource, MoreThan, Repository } from 'typeorm';

import { RunEventEntity } from './entities/run-event.entity';
import { fromJsonText, toJsonText } from './json-text';

// 8 bind parameters per row keeps a chunk far below PostgreSQL's 65,535-parameter limit.
const APPEND_CHUNK_SIZE = 500;

/** The durable archive of run event logs, keyed by event id so appends can be retried safely. */
export class RunEventArchive {
  private readonly rows: Repository<RunEventEntity>;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(RunEventEntity);
  }

  /** Stores `events`; any whose id (or run and seq) is already stored is skipped, so a retried append is a no-op. */
  async append(events: readonly RunEventV1[]): Promise<void> {
    const rows = events.map((event) => toRow(RunEventV1.parse(event)));
    for (let start = 0; start < rows.length; start += APPEND_CHUNK_SIZE) {
      await this.rows
        .createQueryBuilder()
        .insert()
        .values(rows.slice(start, start + APPEND_CHUNK_SIZE))
        .orIgnore()
        .updateEntity(false)
        .execute();
    }
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
