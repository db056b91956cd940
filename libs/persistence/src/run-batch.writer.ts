import type { JsonValue, RunSource } from '@skreaver/contracts';

import type { DataSource } from 'typeorm';

import { toJsonText } from './json-text';

/** A new queued run as the batch path stores it: no output, no thread, no pending inputs yet. */
export interface NewQueuedRun {
  id: string;
  tenant_id: string;
  agent_id: string;
  source: RunSource;
  input: JsonValue;
  /** The key that makes creation idempotent per agent (mesh deliveries: `mesh:<message id>`). */
  idempotency_key: string;
  created_at: string;
}

const COLUMNS = ['id', 'tenant_id', 'agent_id', 'status', 'source', 'input', 'attempts', 'idempotency_key', 'created_at'] as const;

// Rows per INSERT statement: far below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
const ROWS_PER_STATEMENT = 500;

/**
 * Stores many new runs in one statement per chunk, all in one transaction, through the data source's own connection
 * (raw SQL: no query builder on this hot path). A run whose idempotency key its agent already used is skipped, not
 * an error (`ON CONFLICT DO NOTHING` on the unique index `uq_runs_idempotency`), so a batch redelivered after a crash
 * between the commit and its acknowledgement creates nothing twice. The rows are built by the caller from validated
 * input, so they are not parsed again here.
 */
export class RunBatchWriter {
  private readonly postgres: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.postgres = dataSource.options.type === 'postgres';
  }

  /**
   * Inserts `runs` (status `queued`, attempt 0) in one transaction.
   * @returns the ids of the runs inserted; a run missing from it was skipped because its key was taken.
   * @throws when the transaction fails (e.g. an agent was deleted meanwhile): then none of the runs is stored.
   */
  async insertQueued(runs: readonly NewQueuedRun[]): Promise<Set<string>> {
    const inserted = new Set<string>();
    if (runs.length === 0) return inserted;
    await this.dataSource.transaction(async (manager) => {
      for (let start = 0; start < runs.length; start += ROWS_PER_STATEMENT) {
        const chunk = runs.slice(start, start + ROWS_PER_STATEMENT);
        const parameters: (string | number)[] = [];
        const rows = chunk.map((run) => {
          const values: (string | number)[] = [run.id, run.tenant_id, run.agent_id, 'queued', run.source, toJsonText(run.input), 0, run.idempotency_key, run.created_at];
          const placeholders = values.map((value) => {
            parameters.push(value);
            return this.postgres ? `$${parameters.length}` : '?';
          });
          return `(${placeholders.join(', ')})`;
        });
        const sql =
          `INSERT INTO "runs" (${COLUMNS.map((column) => `"${column}"`).join(', ')}) VALUES ${rows.join(', ')} ` +
          `ON CONFLICT ("tenant_id", "agent_id", "idempotency_key") DO NOTHING RETURNING "id"`;
        const result: unknown = await manager.query(sql, parameters);
        for (const row of rowsOf(result)) inserted.add(row.id);
      }
    });
    return inserted;
  }
}

/** The `RETURNING "id"` rows, whichever shape the driver hands back (pg: rows; better-sqlite3: rows, or a result). */
function rowsOf(result: unknown): { id: string }[] {
  const rows: unknown = Array.isArray(result) ? result : (result as { records?: unknown } | null)?.records;
  if (!Array.isArray(rows)) return [];
  return rows.filter((row): row is { id: string } => typeof row === 'object' && row !== null && typeof (row as { id?: unknown }).id === 'string');
}
