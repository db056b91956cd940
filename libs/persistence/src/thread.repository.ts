import { JsonValue, Thread, ThreadCheckpoint, ThreadMessage, ThreadStatus, Timestamp, RunStatus, TERMINAL_RUN_STATUSES } from '@skreaver/contracts';
import type { DoubleTextingPolicy, ThreadMetadata } from '@skreaver/contracts';
import { newId } from '@skreaver/util';

import { DataSource, In, LessThan, Not, Repository } from 'typeorm';

import { RunEntity } from './entities/run.entity';
import { ThreadCheckpointEntity } from './entities/thread-checkpoint.entity';
import { ThreadEntity } from './entities/thread.entity';
import { fromJsonText, fromNullableJsonText, toJsonText } from './json-text';

const OPEN_RUN_STATUSES = RunStatus.options.filter((status) => !TERMINAL_RUN_STATUSES.includes(status));

/** A thread with its conversation (which the `Thread` contract only counts). */
export interface StoredThread {
  thread: Thread;
  messages: ThreadMessage[];
}

export interface ThreadListOptions {
  limit: number;
  agentId?: string;
  status?: ThreadStatus;
  /** The (created_at, id) of the previous page's last thread. */
  before?: { created_at: string; id: string };
}

export interface ThreadChanges {
  metadata?: ThreadMetadata;
  double_texting?: DoubleTextingPolicy | null;
  updated_at: string;
}

/** What a completed run leaves of its thread: the whole conversation (already trimmed) and the state. */
export interface ThreadTurn {
  runId: string;
  messages: ThreadMessage[];
  state: JsonValue;
  at: string;
  /** The thread's status once the turn is recorded; unchanged when absent. */
  status?: ThreadStatus;
}

/** Reads and writes threads and their checkpoints; rows are translated to and from the contracts. No rules here. */
export class ThreadRepository {
  private readonly rows: Repository<ThreadEntity>;
  private readonly checkpoints: Repository<ThreadCheckpointEntity>;
  private readonly runs: Repository<RunEntity>;

  constructor(private readonly dataSource: DataSource) {
    this.rows = dataSource.getRepository(ThreadEntity);
    this.checkpoints = dataSource.getRepository(ThreadCheckpointEntity);
    this.runs = dataSource.getRepository(RunEntity);
  }

  /** Stores a new thread. @throws when the id exists, the agent does not, or the thread breaks the contract. */
  async insert(stored: StoredThread): Promise<StoredThread> {
    const thread = Thread.parse(stored.thread);
    const messages = ThreadMessage.array().parse(stored.messages);
    await this.rows.createQueryBuilder().insert().values(toRow(thread, messages)).updateEntity(false).execute();
    return { thread, messages };
  }

  /** The thread with `id` in `tenantId` with its conversation, or null (also when it belongs to another tenant). */
  async findById(tenantId: string, id: string): Promise<StoredThread | null> {
    const row = await this.rows.findOneBy({ tenant_id: tenantId, id });
    return row ? toStored(row) : null;
  }

  /** A tenant's threads, newest first, optionally filtered (keyset pagination on created_at, id). */
  async list(tenantId: string, options: ThreadListOptions): Promise<Thread[]> {
    const query = this.rows
      .createQueryBuilder('thread')
      .where('thread.tenant_id = :tenantId', { tenantId })
      .orderBy('thread.created_at', 'DESC')
      .addOrderBy('thread.id', 'DESC')
      .take(options.limit);
    if (options.agentId) query.andWhere('thread.agent_id = :agentId', { agentId: options.agentId });
    if (options.status) query.andWhere('thread.status = :status', { status: options.status });
    if (options.before) {
      query.andWhere('(thread.created_at < :createdAt OR (thread.created_at = :createdAt AND thread.id < :id))', {
        createdAt: options.before.created_at,
        id: options.before.id,
      });
    }
    return (await query.getMany()).map((row) => toStored(row).thread);
  }

  /** Applies `changes`; null when there is no such thread in the tenant. */
  async update(tenantId: string, id: string, changes: ThreadChanges): Promise<Thread | null> {
    const set: Partial<ThreadEntity> = { updated_at: Timestamp.parse(changes.updated_at) };
    if (changes.metadata !== undefined) set.metadata = toJsonText(changes.metadata);
    if (changes.double_texting !== undefined) set.double_texting = changes.double_texting;
    const result = await this.rows.createQueryBuilder().update().set(set).where({ tenant_id: tenantId, id }).updateEntity(false).execute();
    if ((result.affected ?? 0) === 0) return null;
    return (await this.findById(tenantId, id))?.thread ?? null;
  }

  /** Sets the thread's status; false when it is gone. */
  async setStatus(id: string, status: ThreadStatus, at: string): Promise<boolean> {
    const result = await this.rows
      .createQueryBuilder()
      .update()
      .set({ status: ThreadStatus.parse(status), updated_at: Timestamp.parse(at) })
      .where({ id })
      .updateEntity(false)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /**
   * Sets the thread `waiting_input` while its run `runId` waits for input, in one statement: false (nothing changed)
   * when the run no longer waits (resumed, or cancelled, in the moment since it began to wait), so a late write never
   * hides the `busy` its resumed run set.
   */
  async markWaiting(id: string, runId: string, at: string): Promise<boolean> {
    const result = await this.rows
      .createQueryBuilder()
      .update()
      .set({ status: ThreadStatus.parse('waiting_input'), updated_at: Timestamp.parse(at) })
      .where({ id })
      .andWhere(`EXISTS (SELECT 1 FROM runs WHERE runs.id = :runId AND runs.status = 'waiting_input')`, { runId })
      .updateEntity(false)
      .execute();
    return (result.affected ?? 0) > 0;
  }

  /** Deletes the thread with its state and checkpoints (its runs stay). @returns false when there was none. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    return this.dataSource.transaction(async (manager) => {
      // Explicit, not only the foreign key's cascade: a SQLite connection without foreign keys on would keep them.
      const found = await manager.getRepository(ThreadEntity).findOneBy({ tenant_id: tenantId, id });
      if (!found) return false;
      await manager.getRepository(ThreadCheckpointEntity).delete({ thread_id: id });
      await manager.getRepository(ThreadEntity).delete({ id });
      return true;
    });
  }

  /**
   * Records a completed run's turn: the thread's conversation and state become `turn`'s, its `turns` goes up by one,
   * and a checkpoint with that step is stored, in one transaction. Idempotent per run: a turn already recorded for
   * `turn.runId` returns its checkpoint and changes nothing.
   * @returns the checkpoint, or null when the thread is gone.
   */
  async recordTurn(threadId: string, turn: ThreadTurn): Promise<ThreadCheckpoint | null> {
    const messages = ThreadMessage.array().parse(turn.messages);
    const state = JsonValue.parse(turn.state);
    const at = Timestamp.parse(turn.at);
    return this.dataSource.transaction(async (manager) => {
      const rows = manager.getRepository(ThreadEntity);
      const checkpoints = manager.getRepository(ThreadCheckpointEntity);
      const recorded = await checkpoints.findOneBy({ thread_id: threadId, run_id: turn.runId });
      if (recorded) return toCheckpoint(recorded);
      const row = await rows.findOneBy({ id: threadId });
      if (!row) return null;
      const step = row.turns + 1;
      const updated = await rows
        .createQueryBuilder()
        .update()
        .set({
          messages: toJsonText(messages),
          message_count: messages.length,
          state: toJsonText(state),
          turns: step,
          updated_at: at,
          ...(turn.status === undefined ? {} : { status: ThreadStatus.parse(turn.status) }),
        })
        .where({ id: threadId, turns: row.turns })
        .updateEntity(false)
        .execute();
      if ((updated.affected ?? 0) === 0) throw new Error(`thread ${threadId} changed while its turn was recorded`);
      const checkpoint: ThreadCheckpointEntity = {
        id: newId(),
        tenant_id: row.tenant_id,
        thread_id: threadId,
        run_id: turn.runId,
        step,
        state: toJsonText(state),
        messages: toJsonText(messages),
        created_at: at,
      };
      await checkpoints.createQueryBuilder().insert().values(checkpoint).updateEntity(false).execute();
      return toCheckpoint(checkpoint);
    });
  }

  /** The thread's checkpoints with a step below `before`, newest first. */
  async history(tenantId: string, threadId: string, options: { before?: number; limit: number }): Promise<ThreadCheckpoint[]> {
    const rows = await this.checkpoints.find({
      where: { tenant_id: tenantId, thread_id: threadId, ...(options.before === undefined ? {} : { step: LessThan(options.before) }) },
      order: { step: 'DESC' },
      take: options.limit,
    });
    return rows.map(toCheckpoint);
  }

  /** The checkpoint `id` of the thread, or null. */
  async findCheckpoint(tenantId: string, threadId: string, id: string): Promise<ThreadCheckpoint | null> {
    const row = await this.checkpoints.findOneBy({ tenant_id: tenantId, thread_id: threadId, id });
    return row ? toCheckpoint(row) : null;
  }

  /** The ids of the thread's open (queued or running) runs, oldest first. */
  async listOpenRunIds(threadId: string): Promise<string[]> {
    const rows = await this.runs.find({
      select: { id: true },
      where: { thread_id: threadId, status: In(OPEN_RUN_STATUSES) },
      order: { created_at: 'ASC', id: 'ASC' },
    });
    return rows.map((row) => row.id);
  }

  /** The checkpoint `runId` recorded on the thread, or null. */
  async checkpointOfRun(threadId: string, runId: string): Promise<ThreadCheckpoint | null> {
    const row = await this.checkpoints.findOneBy({ thread_id: threadId, run_id: runId });
    return row ? toCheckpoint(row) : null;
  }

  /** The thread's checkpoint at `step`, or null. */
  async checkpointAt(threadId: string, step: number): Promise<ThreadCheckpoint | null> {
    const row = await this.checkpoints.findOneBy({ thread_id: threadId, step });
    return row ? toCheckpoint(row) : null;
  }

  /** How many runs of the thread are open (queued or running), `exceptRunId` not counted. */
  countOpenRuns(threadId: string, exceptRunId?: string): Promise<number> {
    return this.runs.countBy({
      thread_id: threadId,
      status: In(OPEN_RUN_STATUSES),
      ...(exceptRunId === undefined ? {} : { id: Not(exceptRunId) }),
    });
  }
}

function toRow(thread: Thread, messages: ThreadMessage[]): ThreadEntity {
  return {
    id: thread.id,
    tenant_id: thread.tenant_id,
    agent_id: thread.agent_id,
    status: thread.status,
    metadata: toJsonText(thread.metadata),
    double_texting: thread.double_texting,
    state: toJsonText(thread.state),
    messages: toJsonText(messages),
    message_count: messages.length,
    turns: thread.turns,
    forked_from: thread.forked_from === null ? null : toJsonText(thread.forked_from),
    created_at: thread.created_at,
    updated_at: thread.updated_at,
  };
}

function toStored(row: ThreadEntity): StoredThread {
  const thread = Thread.parse({
    id: row.id,
    tenant_id: row.tenant_id,
    agent_id: row.agent_id,
    status: row.status,
    metadata: fromJsonText(row.metadata),
    double_texting: row.double_texting,
    state: fromJsonText(row.state),
    message_count: row.message_count,
    turns: row.turns,
    forked_from: fromNullableJsonText(row.forked_from),
    created_at: row.created_at,
    updated_at: row.updated_at,
  });
  return { thread, messages: ThreadMessage.array().parse(fromJsonText(row.messages)) };
}

function toCheckpoint(row: ThreadCheckpointEntity): ThreadCheckpoint {
  return ThreadCheckpoint.parse({
    id: row.id,
    thread_id: row.thread_id,
    run_id: row.run_id,
    step: row.step,
    state: fromJsonText(row.state),
    messages: fromJsonText(row.messages),
    created_at: row.created_at,
  });
}
