import { RunEventV1, RunStep } from '@skreaver/contracts';
import type { Agent, AgentConcurrency, AgentStatus, JsonValue, PendingInput, Run, RunError, RunStatus, RunUsage } from '@skreaver/contracts';

// In-memory stand-ins for the run bookkeeping collaborators (persistence's RunRepository, AgentRepository and
// RunEventArchive, messaging's RunEventLog, runs' RunDispatcher and RunCancellation), shared by the unit specs of
// RunExecutor (libs/runs) and RunsService (agent-api). They are typed with contract types only, so this library
// depends on no tier above contracts; the specs cast them to the interfaces they stand for. Each records the calls
// that matter in a shared `journal`, in order.

const OPEN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'waiting_input'];

/** What pg throws while PostgreSQL is down. */
export function databaseDown(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

/** A stored run and the hash of the request that created it (idempotency). */
export interface StoredRun {
  run: Run;
  requestHash: string | null;
}

/** Compare-and-set on statuses and a unique idempotency key per agent, as the real repository and schema do. */
export class InMemoryRunRepository {
  readonly rows = new Map<string, StoredRun>();
  readonly markCancelledCalls: { id: string; error: RunError; from: readonly RunStatus[] }[] = [];
  insertFailure: Error | undefined;
  deleteFailure: Error | undefined;
  markCompletedFailure: Error | undefined;
  /** A row another request inserts just before ours (two requests racing with one idempotency key). */
  concurrentInsert: StoredRun | undefined;
  /** Runs just before markRunning's compare-and-set (another process changing the run in between). */
  beforeMarkRunning: (() => void) | undefined;
  /** Calls to findById and markCompleted that fail as if the database were down, before they work again. */
  outages = 0;
  /** The agents whose activity `markRunning` and `markCompleted` set (the real one writes both in one commit). */
  agents: InMemoryAgentRepository | undefined;

  constructor(private readonly journal: string[]) {}

  seed(run: Run, requestHash: string | null = null): void {
    this.rows.set(run.id, { run: structuredClone(run), requestHash });
  }

  stored(id: string): Run | undefined {
    return this.rows.get(id)?.run;
  }

  setStatus(id: string, changes: Partial<Run>): void {
    const row = this.rows.get(id);
    if (row) row.run = { ...row.run, ...changes };
  }

  async insert(run: Run, options: { requestHash?: string } = {}): Promise<Run> {
    this.journal.push('runs.insert');
    if (this.concurrentInsert) this.seed(this.concurrentInsert.run, this.concurrentInsert.requestHash);
    this.concurrentInsert = undefined;
    if (this.insertFailure) throw this.insertFailure;
    const taken = [...this.rows.values()].some(
      ({ run: other }) =>
        run.idempotency_key !== null &&
        other.tenant_id === run.tenant_id &&
        other.agent_id === run.agent_id &&
        other.idempotency_key === run.idempotency_key,
    );
    if (taken) throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    this.seed(run, options.requestHash ?? null);
    return run;
  }

  async findById(tenantId: string, id: string): Promise<Run | null> {
    this.failIfDown();
    const run = this.rows.get(id)?.run;
    return run && run.tenant_id === tenantId ? structuredClone(run) : null;
  }

  async findByIdAnyTenant(id: string): Promise<Run | null> {
    this.failIfDown();
    const run = this.rows.get(id)?.run;
    return run ? structuredClone(run) : null;
  }

  async findByIdempotencyKey(tenantId: string, agentId: string, key: string): Promise<StoredRun | null> {
    const row = [...this.rows.values()].find(({ run }) => run.tenant_id === tenantId && run.agent_id === agentId && run.idempotency_key === key);
    return row ? structuredClone(row) : null;
  }

  async delete(id: string): Promise<void> {
    this.journal.push('runs.delete');
    if (this.deleteFailure) throw this.deleteFailure;
    this.rows.delete(id);
  }

  async markRunning(id: string, attempt: number, startedAt: string): Promise<boolean> {
    this.journal.push('runs.markRunning');
    this.beforeMarkRunning?.();
    const marked = this.update(id, ['queued', 'running'], { status: 'running', attempts: attempt, started_at: startedAt });
    const run = this.rows.get(id)?.run;
    if (marked && run) this.agents?.started(run.tenant_id, run.agent_id, startedAt);
    return marked;
  }

  /** How many runs of `agentId` are running (what the real `settleActivity` asks the runs table). */
  running(agentId: string): number {
    return [...this.rows.values()].filter(({ run }) => run.agent_id === agentId && run.status === 'running').length;
  }

  /** Answers by run id, as the real repository's `input_answers` column holds them. */
  readonly answers = new Map<string, Record<string, JsonValue>>();

  async markWaitingInput(id: string, pending: PendingInput[], attempts: number): Promise<boolean> {
    this.journal.push('runs.markWaitingInput');
    return this.update(id, ['running'], { status: 'waiting_input', pending_inputs: pending, attempts });
  }

  async markResumed(id: string, answers: Record<string, JsonValue>): Promise<boolean> {
    this.journal.push('runs.markResumed');
    const resumed = this.update(id, ['waiting_input'], { status: 'queued', pending_inputs: [] });
    if (resumed) this.answers.set(id, structuredClone(answers));
    return resumed;
  }

  async inputAnswers(id: string): Promise<Record<string, JsonValue>> {
    return structuredClone(this.answers.get(id) ?? {});
  }

  async markCompleted(id: string, output: JsonValue, finishedAt: string, agent?: { tenantId: string; id: string }): Promise<boolean> {
    this.journal.push('runs.markCompleted');
    if (this.markCompletedFailure) throw this.markCompletedFailure;
    this.failIfDown();
    const completed = this.update(id, OPEN_STATUSES, { status: 'completed', output, finished_at: finishedAt });
    if (agent) await this.agents?.settleActivity(agent.tenantId, agent.id, finishedAt);
    return completed;
  }

  async markFailed(id: string, error: RunError, finishedAt: string, from: readonly RunStatus[] = OPEN_STATUSES): Promise<boolean> {
    this.journal.push('runs.markFailed');
    return this.update(id, from, { status: 'failed', error, finished_at: finishedAt, pending_inputs: [] });
  }

  async markCancelled(id: string, error: RunError, finishedAt: string, from: readonly RunStatus[] = OPEN_STATUSES): Promise<boolean> {
    this.journal.push('runs.markCancelled');
    this.markCancelledCalls.push({ id, error, from });
    return this.update(id, from, { status: 'cancelled', error, finished_at: finishedAt, pending_inputs: [] });
  }

  async setUsage(id: string, usage: RunUsage): Promise<void> {
    this.journal.push('runs.setUsage');
    const row = this.rows.get(id);
    if (row) row.run = { ...row.run, usage };
  }

  async listOpenByAgent(tenantId: string, agentId: string): Promise<Run[]> {
    return this.ofAgent(tenantId, agentId)
      .filter((run) => OPEN_STATUSES.includes(run.status))
      .sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async listByAgent(tenantId: string, agentId: string, options: { limit: number; before?: Pick<Run, 'created_at' | 'id'> }): Promise<Run[]> {
    const { before } = options;
    return this.ofAgent(tenantId, agentId)
      .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id))
      .filter((run) => !before || run.created_at < before.created_at || (run.created_at === before.created_at && run.id < before.id))
      .slice(0, options.limit);
  }

  private ofAgent(tenantId: string, agentId: string): Run[] {
    return [...this.rows.values()].map(({ run }) => structuredClone(run)).filter((run) => run.tenant_id === tenantId && run.agent_id === agentId);
  }

  private update(id: string, from: readonly RunStatus[], changes: Partial<Run>): boolean {
    const row = this.rows.get(id);
    if (!row || !from.includes(row.run.status) || !OPEN_STATUSES.includes(row.run.status)) return false;
    row.run = { ...row.run, ...changes };
    return true;
  }

  private failIfDown(): void {
    if (this.outages <= 0) return;
    this.outages -= 1;
    throw databaseDown();
  }
}

export class InMemoryAgentRepository {
  readonly rows = new Map<string, Agent>();
  /** Every status written by updateActivity, in order. */
  readonly statuses: AgentStatus[] = [];

  seed(agent: Agent): void {
    this.rows.set(agent.id, structuredClone(agent));
  }

  async findById(tenantId: string, id: string): Promise<Agent | null> {
    const agent = this.rows.get(id);
    return agent && agent.tenant_id === tenantId ? structuredClone(agent) : null;
  }

  /** The runs whose running ones keep an agent running in `settleActivity` (the spec wires the run fake in). */
  runs: { running(agentId: string): number } | undefined;

  async updateActivity(tenantId: string, id: string, status: AgentStatus, at: string): Promise<void> {
    this.statuses.push(status);
    const agent = this.rows.get(id);
    if (agent && agent.tenant_id === tenantId) this.rows.set(id, { ...agent, status, last_activity: at });
  }

  /** As the real `settleActivity`: idle unless another run of the agent is running; the status written only if it changes. */
  async settleActivity(tenantId: string, id: string, at: string): Promise<void> {
    const agent = this.rows.get(id);
    if (!agent || agent.tenant_id !== tenantId) return;
    const idle = agent.status !== 'idle' && (this.runs?.running(id) ?? 0) === 0;
    if (idle) this.statuses.push('idle');
    this.rows.set(id, { ...agent, status: idle ? 'idle' : agent.status, last_activity: at });
  }

  /** As `markRunning`'s agent statement: running (and the instant) unless it already says so. */
  started(tenantId: string, id: string, at: string): void {
    const agent = this.rows.get(id);
    if (!agent || agent.tenant_id !== tenantId || agent.status === 'running') return;
    this.statuses.push('running');
    this.rows.set(id, { ...agent, status: 'running', last_activity: at });
  }
}

/** Runs' journals (`run_steps`): contract-checked, the first step stored at an ordinal wins. */
export class InMemoryRunStepRepository {
  readonly rows = new Map<string, RunStep>();
  /** Calls to list and record that fail as if the database were down, before they work again. */
  outages = 0;

  constructor(private readonly journal: string[]) {}

  /** The run's steps, by ordinal. */
  stepsOf(runId: string): RunStep[] {
    return [...this.rows.values()].filter((step) => step.run_id === runId).sort((a, b) => a.ordinal - b.ordinal);
  }

  async list(runId: string): Promise<RunStep[]> {
    this.journal.push('steps.list');
    this.failWhileDown();
    return this.stepsOf(runId);
  }

  async record(step: RunStep): Promise<RunStep> {
    this.journal.push(`steps.record ${step.ordinal}`);
    this.failWhileDown();
    const key = `${step.run_id}:${step.ordinal}`;
    const stored = this.rows.get(key) ?? RunStep.parse(step);
    this.rows.set(key, stored);
    return stored;
  }

  private failWhileDown(): void {
    if (this.outages <= 0) return;
    this.outages -= 1;
    throw databaseDown();
  }
}

/** The database archive of finished runs' events: contract-checked, an event id is stored once. */
export class InMemoryRunEventArchive {
  rows: RunEventV1[] = [];
  readonly listCalls: { runId: string; afterSeq?: number; limit: number }[] = [];
  appendFailure: Error | undefined;
  listFailure: Error | undefined;

  constructor(private readonly journal: string[]) {}

  /** Every archived event, by seq. */
  get events(): RunEventV1[] {
    return [...this.rows].sort((a, b) => a.seq - b.seq);
  }

  async append(events: readonly RunEventV1[]): Promise<void> {
    this.journal.push('archive.append');
    if (this.appendFailure) throw this.appendFailure;
    for (const event of events) if (!this.rows.some((row) => row.id === event.id)) this.rows.push(RunEventV1.parse(event));
  }

  async list(tenantId: string, runId: string, options: { afterSeq?: number; limit: number }): Promise<RunEventV1[]> {
    this.listCalls.push({ runId, ...options });
    if (this.listFailure) throw this.listFailure;
    return this.rows
      .filter((event) => event.tenant_id === tenantId && event.run_id === runId && event.seq > (options.afterSeq ?? 0))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, options.limit);
  }
}

/** A run's Redis log: contract-checked appends, a taken seq is refused. */
export class InMemoryRunEventLog {
  private readonly logs = new Map<string, RunEventV1[]>();
  readonly ttls = new Map<string, number>();
  readonly readCalls: { runId: string; options: { afterSeq?: number; limit?: number } }[] = [];
  appendFailure: Error | undefined;
  readFailure: Error | undefined;
  /** Called after each read has taken its snapshot, with the 1-based number of the read. */
  afterRead: ((readNumber: number) => void) | undefined;

  constructor(private readonly journal: string[]) {}

  seed(...events: RunEventV1[]): void {
    for (const event of events) this.logOf(event.run_id).push(event);
  }

  eventsOf(runId: string): RunEventV1[] {
    return [...this.logOf(runId)];
  }

  /** Checks every event against the contract, `own` ones too, so a test catches what the executor builds wrong. */
  async append(event: RunEventV1, options: { own?: boolean; ttlSeconds?: number } = {}): Promise<boolean> {
    this.journal.push(`eventLog.append ${event.type}`);
    if (this.appendFailure) throw this.appendFailure;
    const valid = RunEventV1.parse(event);
    const log = this.logOf(valid.run_id);
    if (options.ttlSeconds !== undefined) this.ttls.set(valid.run_id, options.ttlSeconds);
    if (log.some((existing) => existing.seq >= valid.seq)) return false;
    log.push(valid);
    return true;
  }

  async read(runId: string, options: { afterSeq?: number; limit?: number }): Promise<RunEventV1[]> {
    this.readCalls.push({ runId, options });
    if (this.readFailure) throw this.readFailure;
    const page = this.logOf(runId)
      .filter((event) => event.seq > (options.afterSeq ?? 0))
      .slice(0, options.limit);
    this.afterRead?.(this.readCalls.length);
    return page;
  }

  async last(runId: string): Promise<RunEventV1 | null> {
    return this.logOf(runId).at(-1) ?? null;
  }

  async expire(runId: string, seconds: number): Promise<void> {
    this.journal.push('eventLog.expire');
    this.ttls.set(runId, seconds);
  }

  private logOf(runId: string): RunEventV1[] {
    const log = this.logs.get(runId) ?? [];
    this.logs.set(runId, log);
    return log;
  }
}

/** Admission answers scripted per test (`admission`); records what was admitted, enqueued and released. */
export class FakeRunDispatcher<A = { outcome: string }> {
  admission = { outcome: 'start' } as A;
  readonly admitted: { agentId: string; concurrency: AgentConcurrency; runId: string }[] = [];
  readonly enqueued: string[] = [];
  readonly released: { agentId: string; runId: string }[] = [];
  admitFailure: Error | undefined;
  enqueueFailure: Error | undefined;

  constructor(private readonly journal: string[]) {}

  async admit(agent: Pick<Agent, 'id' | 'concurrency'>, runId: string): Promise<A> {
    this.journal.push('dispatcher.admit');
    if (this.admitFailure) throw this.admitFailure;
    this.admitted.push({ agentId: agent.id, concurrency: agent.concurrency, runId });
    return this.admission;
  }

  async enqueue(_agent: Pick<Agent, 'id' | 'tenant_id'>, runId: string): Promise<void> {
    this.journal.push('dispatcher.enqueue');
    if (this.enqueueFailure) throw this.enqueueFailure;
    this.enqueued.push(runId);
  }

  async release(agent: Pick<Agent, 'id' | 'tenant_id' | 'concurrency'>, runId: string): Promise<string[]> {
    this.journal.push('dispatcher.release');
    this.released.push({ agentId: agent.id, runId });
    return [];
  }

  /** Admitted and not released: active (the fake has no waiting line). */
  async standing(_agentId: string, runId: string): Promise<'active' | 'pending' | null> {
    const released = this.released.some((each) => each.runId === runId);
    return this.admitted.some((each) => each.runId === runId) && !released ? 'active' : null;
  }
}

/** Cancellation requests: those agent-api leaves (`request`) and those a coordinator reads (`requested`, from `reasons`). */
export class FakeRunCancellation {
  readonly reasons = new Map<string, string>();
  readonly requests: { runId: string; reason: string }[] = [];
  /** What the coordinator running the run does with a request. */
  onRequest: ((runId: string, reason: string) => void) | undefined;

  constructor(private readonly journal: string[]) {}

  async request(runId: string, reason: string): Promise<void> {
    this.journal.push('cancellation.request');
    this.requests.push({ runId, reason });
    this.onRequest?.(runId, reason);
  }

  async requested(runId: string): Promise<string | null> {
    this.journal.push('cancellation.requested');
    return this.reasons.get(runId) ?? null;
  }
}
