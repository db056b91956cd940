import { Timestamp } from '@skreaver/contracts';
import type { DataSource } from 'typeorm';

import { HotSql } from './hot-sql';
import type { HotStatement } from './hot-sql';

// A run of the agent ended: when it last did something, then idle unless another of its runs still runs. The first
// statement takes the agent's row lock (PostgreSQL), so two settles at once look one after the other: the second
// one's check, a statement of its own and so a fresh snapshot under READ COMMITTED, sees the first's run ended.
// Setting idle on every end made the agent say `idle` while its other runs ran, and the next start flip it back.
// Never moves `last_activity` back (a retried job settling a run that ended earlier), yet always takes the lock: a
// WHERE on the time would skip a row another transaction holds, and the check after it would then see too little.
const TOUCH_ACTIVITY =
  'UPDATE agents SET last_activity = CASE WHEN last_activity IS NULL OR last_activity < $1 THEN $2 ELSE last_activity END WHERE id = $3 AND tenant_id = $4';
const IDLE_UNLESS_RUNNING =
  'UPDATE agents SET status = $1 WHERE id = $2 AND tenant_id = $3 AND status <> $4 AND NOT EXISTS (SELECT 1 FROM runs WHERE agent_id = $5 AND status = $6)';

/**
 * The statements that settle an agent's activity as of `at`, for a caller that ends the run in the same transaction
 * (before them, so the check no longer counts it as running).
 */
export function settledAgentStatements(tenantId: string, id: string, at: string): HotStatement[] {
  const timestamp = Timestamp.parse(at);
  return [
    { sql: TOUCH_ACTIVITY, params: [timestamp, timestamp, id, tenantId] },
    { sql: IDLE_UNLESS_RUNNING, params: ['idle', id, tenantId, 'idle', id, 'running'] },
  ];
}

interface Batch {
  tenantId: string;
  id: string;
  at: string;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Settles agents' activity after their runs ended (when each last did something; idle unless another of its runs
 * runs), at most one transaction per agent at a time in this process: calls made while one is in flight share the
 * next, which records the latest `at` among them. On PostgreSQL the transaction holds the agent's row lock until it
 * commits, so one per run, inside the run's own transaction, made every run of a busy agent wait for the commits of
 * all the others ending beside it (the bench: ~185 runs/s for one agent, whatever the machine).
 *
 * A call resolves once a transaction that began after it was made has committed: the caller ends its run first, so
 * that transaction sees the run ended, and the row lock orders the transactions of different processes, so the last
 * one sees every run that ended before it.
 */
export class AgentActivitySettler {
  private readonly waiting = new Map<string, Batch>();
  private readonly settling = new Set<string>();

  constructor(private readonly sql: HotSql) {}

  /** Settles the agent as of `at` (its run's end, already committed); resolves once a transaction begun after this call has. */
  settle(tenantId: string, id: string, at: string): Promise<void> {
    const key = `${tenantId}\u0000${id}`;
    let batch = this.waiting.get(key);
    if (batch) {
      if (at > batch.at) batch.at = at;
    } else {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const done = new Promise<void>((ok, fail) => {
        resolve = ok;
        reject = fail;
      });
      batch = { tenantId, id, at, done, resolve, reject };
      this.waiting.set(key, batch);
    }
    if (!this.settling.has(key)) void this.drain(key);
    return batch.done;
  }

  private async drain(key: string): Promise<void> {
    this.settling.add(key);
    try {
      for (let batch = this.waiting.get(key); batch; batch = this.waiting.get(key)) {
        this.waiting.delete(key);
        try {
          await this.sql.transaction(settledAgentStatements(batch.tenantId, batch.id, batch.at));
          batch.resolve();
        } catch (error) {
          batch.reject(error);
        }
      }
    } finally {
      this.settling.delete(key);
    }
  }
}

const settlers = new WeakMap<DataSource, AgentActivitySettler>();

/** The data source's one settler, shared by the repositories that end runs and settle agents. */
export function agentActivitySettler(dataSource: DataSource): AgentActivitySettler {
  let settler = settlers.get(dataSource);
  if (!settler) settlers.set(dataSource, (settler = new AgentActivitySettler(new HotSql(dataSource))));
  return settler;
}
