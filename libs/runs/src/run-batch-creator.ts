import { runEventId } from '@skreaver/contracts';
import type { Agent, JsonValue, RunSource } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import { RunBatchWriter } from '@skreaver/persistence';
import type { NewQueuedRun } from '@skreaver/persistence';
import { newId, nowIso } from '@skreaver/util';

import type { RunDispatcher } from './run-dispatcher';

/** One run to create in a batch. */
export interface BatchRunRequest {
  agent: Agent;
  input: JsonValue;
  /** Required: it is what makes a batch safe to repeat after a crash (see `RunBatchCreator`). */
  idempotencyKey: string;
}

/**
 * The batch's runs are stored, but logging, admitting or enqueueing them failed (Redis, the queue). Unlike
 * `RunCreator`, the runs are not removed: repeating the same requests through `RunCreator.create` with the same
 * idempotency keys finds them and finishes what was left undone, which is also what happens after a crash here.
 */
export class RunBatchAdmissionError extends Error {
  constructor(cause: unknown) {
    super(`batch of runs stored but not admitted: ${String(cause)}`, { cause });
    this.name = 'RunBatchAdmissionError';
  }
}

/**
 * Creates many runs at once (mesh deliveries): the rows in one transaction, their `run.queued` events and admissions
 * pipelined, the admitted runs enqueued with one bulk add. The same steps and order as `RunCreator.create` (stored,
 * then logged, then admitted, then enqueued), for agents whose policy queues runs (`enqueue`, `parallel`): the
 * caller sends runs of `reject` / `interrupt` agents, and of a `RunGate`, through `RunCreator`, one at a time.
 *
 * Crash safety: a process that dies after the commit leaves queued runs that their idempotency keys find again; the
 * caller repeats the undelivered requests through `RunCreator.create`, which admits and enqueues what was left.
 */
export class RunBatchCreator {
  constructor(
    private readonly writer: RunBatchWriter,
    private readonly eventLog: RunEventLog,
    private readonly dispatcher: RunDispatcher,
  ) {}

  /** Whether `agent`'s policy lets its runs be created here (they only ever wait their turn). */
  static accepts(agent: Pick<Agent, 'concurrency'>): boolean {
    return agent.concurrency.policy === 'enqueue' || agent.concurrency.policy === 'parallel';
  }

  /**
   * @returns per request (same order) the run id it created, or null when its agent already has a run with its
   * idempotency key (nothing was created for it: go through `RunCreator.create` to find and resume that run).
   * @throws Error when an agent's policy is not accepted (nothing is stored), the database refuses the batch
   * (nothing is stored), or RunBatchAdmissionError (stored, not all admitted: see the class).
   */
  async createQueued(requests: readonly BatchRunRequest[], source: RunSource): Promise<(string | null)[]> {
    for (const { agent } of requests) {
      if (!RunBatchCreator.accepts(agent)) throw new Error(`agent ${agent.id}'s policy ${agent.concurrency.policy} needs RunCreator`);
    }
    const rows: NewQueuedRun[] = requests.map(({ agent, input, idempotencyKey }) => ({
      id: newId(),
      tenant_id: agent.tenant_id,
      agent_id: agent.id,
      source,
      input,
      idempotency_key: idempotencyKey,
      created_at: nowIso(),
    }));
    const inserted = await this.writer.insertQueued(rows);
    const created = rows.map((row, i) => ({ row, agent: requests[i]?.agent })).filter(({ row }) => inserted.has(row.id));
    try {
      // Logged before admission, as in RunCreator: once admitted a coordinator may start the run and append after it.
      // The runs were inserted just now under new ids, so their logs are empty: both streams are written at once.
      await this.eventLog.appendNew(
        created.map(({ row }) => ({
          id: runEventId(row.id, 1),
          run_id: row.id,
          agent_id: row.agent_id,
          tenant_id: row.tenant_id,
          seq: 1,
          ts: row.created_at,
          type: 'run.queued' as const,
          data: { input: row.input },
        })),
      );
      // Sent in order on one connection, so the agent's line (FIFO) gets the runs in request order.
      const admissions = await Promise.all(created.map(({ row, agent }) => this.dispatcher.admit(agentOf(agent), row.id)));
      const start = created.filter((_, i) => admissions[i]?.outcome === 'start');
      await this.dispatcher.enqueueMany(start.map(({ row, agent }) => ({ agent: agentOf(agent), runId: row.id })));
    } catch (error) {
      throw new RunBatchAdmissionError(error);
    }
    return rows.map((row) => (inserted.has(row.id) ? row.id : null));
  }
}

function agentOf(agent: Agent | undefined): Agent {
  if (!agent) throw new Error('batch run without its agent');
  return agent;
}
