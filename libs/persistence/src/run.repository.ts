import { JsonValue, PendingInput, Run, RunError, RunStatus, RunUsage, TERMINAL_RUN_STATUSES, Timestamp } from '@skreaver/contracts';
import type { RunSource } from '@skreaver/contracts';

import { DataSource, In, LessThanOrEqual, Repository } from 'typeorm';
import type { z } from 'zod';

import { agentActivitySettler, settledAgentStatements } from './agent-activity.settler';
import type { AgentActivitySettler } from './agent-activity.settler';
import { RunEntity } from './entities/run.entity';
import { HotSql } from './hot-sql';
import type { HotStatement } from './hot-sql';
import { fromJsonText, fromNullableJsonText, toJsonText } from './json-text';

// A run that ends waits for nothing more.
const CLEARED_INPUTS = { pending_inputs: null, input_expires_at: null } as const;

// Status transitions are compare-and-set on these, so a late or duplicate worker never reopens a finished run.
const OPEN_RUN_STATUSES = RunStatus.options.filter((status) => !TERMINAL_RUN_STATUSES.includes(status));

/** The (created_at, id) of the last run of a list page, where the next page starts. */
export type RunCursor = Pick<Run, 'created_at' | 'id'>;

export interface RunListOptions {
  limit: number;
  status?: RunStatus;
  agentId?: string;
  before?: RunCursor;
}

// The columns `insert` writes, in the order of its values (toRow's fields).
const INSERT_COLUMNS = [
  'id',
  'tenant_id',
  'agent_id',
  'status',
  'source',
  'input',
  'output',
  'error',
  'attempts',
  'idempotency_key',
  'request_hash',
  'usage',
  'thread_id',
  'created_at',
  'started_at',
  'finished_at',
  'pending_inputs',
  'input_expires_at',
  'input_answers',
] as const satisfies ReadonlyArray<keyof RunEntity>;

// The columns `toRun` reads, for the hand-written statements of the hot path.
const RUN_COLUMNS =
  'id, tenant_id, agent_id, status, source, input, output, error, attempts, idempotency_key, request_hash, usage, thread_id, ' +
  'created_at, started_at, finished_at, pending_inputs, input_expires_at, input_answers';
const SELECT_RUN = `SELECT ${RUN_COLUMNS} FROM runs WHERE id = $1 AND tenant_id = $2`;
const SELECT_INPUT_ANSWERS = 'SELECT input_answers FROM runs WHERE id = $1';
// The agent of a run `markRunning` has just started (status and started_at as it wrote them), set running unless it
// is (a write that would change nothing but the instant, and rewrite the agents' status index entry).
const MARK_AGENT_RUNNING =
  'UPDATE agents SET status = $1, last_activity = $2 WHERE id = (SELECT agent_id FROM runs WHERE id = $3 AND status = $4 AND started_at = $5) AND status <> $6';

/**
 * Reads and writes runs; rows are translated to and from the `Run` contract. What every run does (read it, its status
 * transitions) is hand-written SQL (`HotSql`); the rest goes through TypeORM's repository.
 */
export class RunRepository {
  private readonly rows: Repository<RunEntity>;
  private readonly sql: HotSql;
  // Every accepted run is inserted on its POST's critical path: hand-written SQL through HotSql, so on SQLite the
  // inserts of concurrent requests share one commit (each resolves only once it is committed).
  private readonly insertRun: string;
  private readonly settler: AgentActivitySettler;

  constructor(private readonly dataSource: DataSource) {
    this.rows = dataSource.getRepository(RunEntity);
    this.insertRun = `INSERT INTO runs (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map((_, index) => `$${index + 1}`).join(', ')})`;
    this.sql = new HotSql(dataSource);
    this.settler = agentActivitySettler(dataSource);
  }

  /** Stores a new run. @throws when the id exists, the agent does not, or the run does not match the contract. */
  async insert(run: z.input<typeof Run>, options: { requestHash?: string } = {}): Promise<Run> {
    const valid = Run.parse(run);
    const row = { ...toRow(valid), request_hash: options.requestHash ?? null };
    await this.sql.run(this.insertRun, INSERT_COLUMNS.map((column) => row[column]));
    return valid;
  }

  /** The run an earlier request with this idempotency key created, with that request's hash. */
  async findByIdempotencyKey(
    tenantId: string,
    agentId: string,
    key: string,
  ): Promise<{ run: Run; requestHash: string | null } | null> {
    const row = await this.rows.findOneBy({ tenant_id: tenantId, agent_id: agentId, idempotency_key: key });
    return row ? { run: toRun(row), requestHash: row.request_hash } : null;
  }

  /** The agent's runs that are still queued or running, oldest first. */
  async listOpenByAgent(tenantId: string, agentId: string): Promise<Run[]> {
    const rows = await this.rows.find({
      where: { tenant_id: tenantId, agent_id: agentId, status: In(OPEN_RUN_STATUSES) },
      order: { created_at: 'ASC', id: 'ASC' },
    });
    return rows.map(toRun);
  }

  /**
   * Open (queued or running) runs of every tenant created before `createdBefore`, oldest first, at most `limit`,
   * after the run `after` in that order: what the reconciler checks for a lost job or a dead owner.
   */
  async listOpenCreatedBefore(createdBefore: string, limit: number, after?: Pick<Run, 'id' | 'created_at'>): Promise<Run[]> {
    const query = this.rows
      .createQueryBuilder('run')
      .where('run.status IN (:...open)', { open: OPEN_RUN_STATUSES })
      .andWhere('run.created_at < :createdBefore', { createdBefore: Timestamp.parse(createdBefore) })
      .orderBy('run.created_at', 'ASC')
      .addOrderBy('run.id', 'ASC')
      .limit(limit);
    if (after) {
      query.andWhere('(run.created_at > :afterAt OR (run.created_at = :afterAt AND run.id > :afterId))', {
        afterAt: after.created_at,
        afterId: after.id,
      });
    }
    return (await query.getMany()).map(toRun);
  }

  /** Removes a run that was never admitted (refused by its agent's concurrency policy). */
  async delete(id: string): Promise<void> {
    await this.rows.createQueryBuilder().delete().where({ id }).execute();
  }

  /** The run with `id` in `tenantId`, or null (also when it belongs to another tenant). */
  async findById(tenantId: string, id: string): Promise<Run | null> {
    const [row] = await this.sql.rows<RunEntity>(SELECT_RUN, [id, tenantId]);
    return row ? toRun(row) : null;
  }

  /** The run with `id` whatever its tenant, for workers that only hold a job's run id. */
  async findByIdAnyTenant(id: string): Promise<Run | null> {
    const row = await this.rows.findOneBy({ id });
    return row ? toRun(row) : null;
  }

  /** An agent's runs, newest first, after the cursor `before` (the (created_at, id) of the previous page's last run). */
  listByAgent(tenantId: string, agentId: string, options: { limit: number; before?: RunCursor }): Promise<Run[]> {
    return this.list(tenantId, { agentId, limit: options.limit, before: options.before });
  }

  /**
   * The tenant's runs, newest first, optionally only those in `status` and of `agentId` (the dead-letter list is
   * `status: failed`), after the cursor `before`. Keyset pagination on (created_at, id), compared as a row value so
   * the database seeks into its (tenant_id[, status | agent_id], created_at, id) index instead of reading every
   * newer row: page 1,000 costs what page 1 does.
   */
  async list(tenantId: string, options: RunListOptions): Promise<Run[]> {
    const query = this.rows
      .createQueryBuilder('run')
      .where('run.tenant_id = :tenantId', { tenantId })
      .orderBy('run.created_at', 'DESC')
      .addOrderBy('run.id', 'DESC')
      .limit(options.limit);
    if (options.status !== undefined) query.andWhere('run.status = :status', { status: options.status });
    if (options.agentId !== undefined) query.andWhere('run.agent_id = :agentId', { agentId: options.agentId });
    if (options.before) {
      query.andWhere('(run.created_at, run.id) < (:beforeAt, :beforeId)', { beforeAt: options.before.created_at, beforeId: options.before.id });
    }
    return (await query.getMany()).map(toRun);
  }

  /**
   * Deletes up to `limit` finished runs (completed, failed, cancelled) that finished before `finishedBefore`, with
   * their archived events and steps (foreign keys cascade); the retention sweep. @returns how many it deleted.
   */
  async deleteFinishedBefore(finishedBefore: string, limit: number): Promise<number> {
    const cutoff = Timestamp.parse(finishedBefore);
    let deleted = 0;
    // One status at a time, oldest first: `status = ? ORDER BY created_at` walks the (status, created_at) index from
    // its start and stops after `limit`, however many young or already deleted rows there are (an IN list, or no
    // order, lets PostgreSQL gamble on a sequential scan). created_at ≤ finished_at, so `created_at < cutoff` only
    // narrows the walk.
    for (const status of TERMINAL_RUN_STATUSES) {
      if (deleted >= limit) break;
      const expired = this.rows
        .createQueryBuilder('expired')
        .select('expired.id')
        .where('expired.status = :status')
        .andWhere('expired.created_at < :cutoff')
        .andWhere('expired.finished_at < :cutoff')
        .orderBy('expired.created_at', 'ASC')
        .limit(limit - deleted);
      const result = await this.rows
        .createQueryBuilder()
        .delete()
        .where(`id IN (${expired.getQuery()})`)
        .setParameters({ status, cutoff })
        .execute();
      deleted += result.affected ?? 0;
    }
    return deleted;
  }

  /**
   * Sets a queued or running run to `running` with `attempts = attempt` and `started_at = startedAt`, and its agent
   * `running` (`last_activity = startedAt`) in the same transaction, unless the agent already says so: only when the
   * run was set. Decided in SQL, not from an agent read before: a run of the agent that ended meanwhile may have set
   * it idle (`AgentRepository.settleActivity`), seeing this one not running yet.
   * @returns false when the run is missing or already terminal (it is left unchanged, and so is its agent).
   */
  async markRunning(id: string, attempt: number, startedAt: string): Promise<boolean> {
    const at = Timestamp.parse(startedAt);
    // Not from `waiting_input`: a waiting run runs again only once it is resumed (queued) with its answers.
    const update = openRunUpdate(id, { status: 'running', attempts: Run.shape.attempts.parse(attempt), started_at: at }, ['queued', 'running']);
    // The run's row says whether the first statement took: running since exactly this start.
    const [changed = 0] = await this.sql.transaction([update, { sql: MARK_AGENT_RUNNING, params: ['running', at, id, 'running', at, 'running'] }]);
    return changed > 0;
  }

  /**
   * Suspends a running run until `pending` are answered: `waiting_input`, with `attempts` (the attempt that waited is
   * not spent). @returns false when the run is no longer running (cancelled meanwhile).
   */
  markWaitingInput(id: string, pending: PendingInput[], attempts: number): Promise<boolean> {
    const valid = PendingInput.array().min(1).parse(pending);
    const expiresAt = valid.map((input) => input.expires_at).sort()[0] ?? null;
    return this.updateOpenRun(
      id,
      { status: 'waiting_input', pending_inputs: JSON.stringify(valid), input_expires_at: expiresAt, attempts: Run.shape.attempts.parse(attempts) },
      ['running'],
    );
  }

  /**
   * Resumes a waiting run: `queued` again, its pending inputs cleared and `answers` (every answer so far) stored.
   * @returns false when the run is not waiting (resumed, cancelled or expired meanwhile): nothing changed.
   */
  markResumed(id: string, answers: Record<string, JsonValue>): Promise<boolean> {
    return this.updateOpenRun(
      id,
      { status: 'queued', pending_inputs: null, input_expires_at: null, input_answers: toJsonText(JsonValue.parse(answers)) },
      ['waiting_input'],
    );
  }

  /** The answers given to the run's inputs so far, by input id (empty when none). */
  async inputAnswers(id: string): Promise<Record<string, JsonValue>> {
    const [row] = await this.sql.rows<Pick<RunEntity, 'input_answers'>>(SELECT_INPUT_ANSWERS, [id]);
    const answers = row?.input_answers ? fromJsonText(row.input_answers) : {};
    return typeof answers === 'object' && answers !== null && !Array.isArray(answers) ? answers : {};
  }

  /** Waiting runs of every tenant with an input that expired at `now` or before, soonest first, at most `limit`. */
  async listInputExpired(now: string, limit: number): Promise<Run[]> {
    const rows = await this.rows.find({
      where: { status: 'waiting_input', input_expires_at: LessThanOrEqual(Timestamp.parse(now)) },
      order: { input_expires_at: 'ASC', id: 'ASC' },
      take: limit,
    });
    return rows.map(toRun);
  }

  /**
   * Completes a queued or running run with `output`; with `agent`, also settles the agent's activity
   * (`AgentRepository.settleActivity`) before resolving. On SQLite in the same transaction (one group commit); on
   * PostgreSQL right after, sharing one transaction with the other runs of the agent ending at that moment: inside
   * each run's transaction it held the agent's row lock until that commit, one run after another.
   * @returns false when it is missing or already terminal.
   */
  async markCompleted(id: string, output: JsonValue, finishedAt: string, agent?: { tenantId: string; id: string }): Promise<boolean> {
    const update = openRunUpdate(id, {
      status: 'completed',
      output: toJsonText(JsonValue.parse(output)),
      finished_at: Timestamp.parse(finishedAt),
    });
    if (agent && this.sql.groupCommits) {
      const [changed = 0] = await this.sql.transaction([update, ...settledAgentStatements(agent.tenantId, agent.id, finishedAt)]);
      return changed > 0;
    }
    const changed = await this.sql.run(update.sql, update.params);
    if (agent) await this.settler.settle(agent.tenantId, agent.id, finishedAt);
    return changed > 0;
  }

  /** Fails a queued or running run with `error`. @returns false when it is missing or already terminal. */
  markFailed(id: string, error: RunError, finishedAt: string, from: readonly RunStatus[] = OPEN_RUN_STATUSES): Promise<boolean> {
    return this.updateOpenRun(
      id,
      { status: 'failed', error: toJsonText(RunError.parse(error)), finished_at: Timestamp.parse(finishedAt), ...CLEARED_INPUTS },
      from,
    );
  }

  /**
   * Cancels a run that is in one of `from` (default: queued or running).
   * @returns false when it is missing, finished, or in another state (it is left unchanged).
   */
  markCancelled(id: string, error: RunError, finishedAt: string, from: readonly RunStatus[] = OPEN_RUN_STATUSES): Promise<boolean> {
    return this.updateOpenRun(
      id,
      { status: 'cancelled', error: toJsonText(RunError.parse(error)), finished_at: Timestamp.parse(finishedAt), ...CLEARED_INPUTS },
      from,
    );
  }

  /** Records the tokens the run's model calls used so far (whatever its status: they were spent). */
  async setUsage(id: string, usage: RunUsage): Promise<void> {
    await this.rows
      .createQueryBuilder()
      .update()
      .set({ usage: toJsonText(RunUsage.parse(usage)) })
      .where({ id })
      .updateEntity(false)
      .execute();
  }

  private async updateOpenRun(
    id: string,
    changes: Partial<RunEntity> & { status: RunStatus },
    from: readonly RunStatus[] = OPEN_RUN_STATUSES,
  ): Promise<boolean> {
    if (!from.some((status) => OPEN_RUN_STATUSES.includes(status))) return false;
    const { sql, params } = openRunUpdate(id, changes, from);
    return (await this.sql.run(sql, params)) > 0;
  }
}

/** The compare-and-set of a run's status: `changes` applied only while it is in one of `from` (open statuses only). */
function openRunUpdate(id: string, changes: Partial<RunEntity> & { status: RunStatus }, from: readonly RunStatus[] = OPEN_RUN_STATUSES): HotStatement {
  const allowed = from.filter((status) => OPEN_RUN_STATUSES.includes(status));
  // Column names come from our own call sites (keys of RunEntity), never from input; values are bound.
  const columns = Object.keys(changes) as (keyof RunEntity)[];
  const assignments = columns.map((column, i) => `${column} = $${i + 1}`).join(', ');
  // No open status allowed: `IN (NULL)` changes nothing, as intended, and is valid SQL on both databases.
  const statuses = allowed.length === 0 ? 'NULL' : allowed.map((_, i) => `$${columns.length + 2 + i}`).join(', ');
  return {
    sql: `UPDATE runs SET ${assignments} WHERE id = $${columns.length + 1} AND status IN (${statuses})`,
    params: [...columns.map((column) => changes[column] ?? null), id, ...allowed],
  };
}

function toRow(run: Run): RunEntity {
  return {
    id: run.id,
    tenant_id: run.tenant_id,
    agent_id: run.agent_id,
    status: run.status,
    source: run.source,
    input: toJsonText(run.input),
    output: run.output === null ? null : toJsonText(run.output),
    error: run.error === null ? null : toJsonText(run.error),
    attempts: run.attempts,
    idempotency_key: run.idempotency_key,
    request_hash: null,
    usage: run.usage === null ? null : toJsonText(run.usage),
    thread_id: run.thread_id,
    created_at: run.created_at,
    started_at: run.started_at,
    finished_at: run.finished_at,
    pending_inputs: run.pending_inputs.length === 0 ? null : JSON.stringify(run.pending_inputs),
    input_expires_at: run.pending_inputs.map((input) => input.expires_at).sort()[0] ?? null,
    input_answers: null,
  };
}

// Not parsed with `Run` again, for the reason `toAgent` is not (agent.repository.ts): rows are written only through
// this repository, from runs checked against the contract (`insert` parses the whole run; every update writes parsed
// values). Each run is read at least once on its way (the coordinator's start, the run routes), and the parse, zod's
// recursive JSON check of the input and output and the id and timestamp patterns, cost the coordinator ~1.7 % of
// its busy time in the closed loop, for values it had checked on the way in.
function toRun(row: RunEntity): Run {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    agent_id: row.agent_id,
    status: row.status as RunStatus,
    source: row.source as RunSource,
    input: fromJsonText(row.input),
    output: fromNullableJsonText(row.output),
    error: row.error === null ? null : (fromJsonText(row.error) as RunError),
    attempts: row.attempts,
    idempotency_key: row.idempotency_key,
    usage: row.usage === null ? null : (fromJsonText(row.usage) as RunUsage),
    thread_id: row.thread_id,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
    pending_inputs: row.pending_inputs === null ? [] : (JSON.parse(row.pending_inputs) as PendingInput[]),
  };
}
