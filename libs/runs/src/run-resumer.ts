import { runEventId } from '@skreaver/contracts';
import type { Agent, JsonValue, PendingInput, Run } from '@skreaver/contracts';
import { RunEventLog } from '@skreaver/messaging';
import { RunRepository, ThreadRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';
import { z } from 'zod';

import type { RunDispatcher } from './run-dispatcher';

/** Why a resume was refused (409): the run does not wait, or an answer's input is unknown, expired or answered. */
export class ResumeConflictError extends Error {
  constructor(
    readonly code: 'run_not_waiting' | 'input_unknown' | 'input_expired' | 'input_already_answered',
    message: string,
  ) {
    super(message);
    this.name = 'ResumeConflictError';
  }
}

/** An answer that does not satisfy its input's JSON Schema, or a pending input left unanswered (422). */
export class InvalidAnswerError extends Error {
  constructor(readonly issues: { input_id: string; path: string; message: string }[]) {
    super(`the answers do not fit the run's inputs: ${issues.map((issue) => `${issue.input_id}${issue.path ? `.${issue.path}` : ''}: ${issue.message}`).join('; ')}`);
    this.name = 'InvalidAnswerError';
  }
}

/** Who resumed a run whose waits expired with a default answer (`run.resumed`'s `by`). */
export const INPUT_DEFAULT_RESUMER = 'input_timeout_default';

/**
 * Resumes runs waiting for input (`POST /runs/{id}/resume`, and the expiry sweeper for waits with a default): checks
 * the answers (every pending input answered, none unknown, expired or answered before, each valid against its JSON
 * Schema), stores them with a compare-and-set from `waiting_input` (two resumes racing: one wins, the other gets 409),
 * logs `run.resumed`, and puts the SAME run on its way again: admitted under its agent's concurrency (it waits its
 * turn, whatever the policy) and enqueued under its own id once the job of the attempt that suspended it is gone.
 * The executor then replays the run from the start with every answer given so far.
 */
export class RunResumer {
  constructor(
    private readonly runs: RunRepository,
    private readonly eventLog: RunEventLog,
    private readonly dispatcher: RunDispatcher,
    private readonly maxAttempts: number,
    private readonly threads?: Pick<ThreadRepository, 'setStatus'>,
  ) {}

  /**
   * Answers `run`'s pending inputs with `answers` (by input id) and requeues it; resolves with the run as stored.
   * @throws ResumeConflictError (409) and InvalidAnswerError (422); nothing changed then.
   */
  async resume(agent: Agent, run: Run, answers: Record<string, JsonValue>, by: string, options: { acceptExpired?: boolean } = {}): Promise<Run> {
    const now = Date.now();
    if (run.status !== 'waiting_input') throw new ResumeConflictError('run_not_waiting', `run ${run.id} is ${run.status}, not waiting for input`);
    const given = await this.runs.inputAnswers(run.id);
    const pending = new Map(run.pending_inputs.map((input) => [input.id, input]));
    for (const id of Object.keys(answers)) {
      if (Object.hasOwn(given, id)) throw new ResumeConflictError('input_already_answered', `${id} was answered already`);
      const input = pending.get(id);
      if (!input) throw new ResumeConflictError('input_unknown', `run ${run.id} waits for no input ${id}`);
      if (!options.acceptExpired && Date.parse(input.expires_at) <= now) throw new ResumeConflictError('input_expired', `the wait for ${id} ended at ${input.expires_at}`);
    }
    const issues = run.pending_inputs.flatMap((input) => answerIssues(input, answers));
    if (issues.length > 0) throw new InvalidAnswerError(issues);
    if (!(await this.runs.markResumed(run.id, { ...given, ...answers }))) {
      throw new ResumeConflictError('run_not_waiting', `run ${run.id} is no longer waiting for input`);
    }
    // Its thread no longer waits for a person: busy (a queued run of it), before the run is on its way and can end.
    if (run.thread_id && this.threads) await this.threads.setStatus(run.thread_id, 'busy', nowIso());
    const ids = Object.keys(answers);
    await this.appendResumed(run, ids, by);
    await this.requeue(agent, run);
    return { ...run, status: 'queued', pending_inputs: [] };
  }

  /** The answers that decide every pending approval of `run` (`{"approve": …}`). @throws ResumeConflictError without one. */
  approvals(run: Run, approved: boolean, reason?: string): Record<string, JsonValue> {
    if (run.status !== 'waiting_input') throw new ResumeConflictError('run_not_waiting', `run ${run.id} is ${run.status}, not waiting for input`);
    const approvals = run.pending_inputs.filter((input) => input.kind === 'approval');
    if (approvals.length === 0) throw new ResumeConflictError('input_unknown', `run ${run.id} waits for no approval; answer its inputs with "inputs"`);
    const decision = { approved, ...(reason === undefined ? {} : { reason }) };
    return Object.fromEntries(approvals.map((input) => [input.id, decision]));
  }

  /**
   * Back on its way: the finished job of the suspended attempt is removed (its id is the run's), then the run is
   * admitted and, with a slot, enqueued; without one, the run that frees a slot enqueues it. A failure past the
   * compare-and-set leaves a queued run the coordinators' reconciler re-admits and requeues.
   */
  private async requeue(agent: Agent, run: Run): Promise<void> {
    await this.dispatcher.forgetFinishedJob(run.id);
    const admission = await this.dispatcher.readmit(agent, run.id);
    if (admission.outcome === 'start') await this.dispatcher.enqueue(agent, run.id, Math.max(1, this.maxAttempts - run.attempts));
  }

  private async appendResumed(run: Run, inputIds: string[], by: string): Promise<void> {
    // No executor writes to a waiting run's log: the next seq is the last one's successor.
    const last = await this.eventLog.last(run.id);
    const seq = (last?.seq ?? 0) + 1;
    await this.eventLog.append({
      id: runEventId(run.id, seq),
      run_id: run.id,
      agent_id: run.agent_id,
      tenant_id: run.tenant_id,
      seq,
      ts: nowIso(),
      type: 'run.resumed',
      data: { input_ids: inputIds, by: by.slice(0, 200) },
    });
  }
}

/** What is wrong with `input`'s answer in `answers`: missing, or not valid against its schema. */
function answerIssues(input: PendingInput, answers: Record<string, JsonValue>): { input_id: string; path: string; message: string }[] {
  if (!Object.hasOwn(answers, input.id)) return [{ input_id: input.id, path: '', message: 'no answer given; every pending input must be answered' }];
  const answer = answers[input.id];
  const schema = input.kind === 'approval' ? APPROVAL : input.schema ? compile(input.schema) : undefined;
  if (!schema) return [];
  const parsed = schema.safeParse(answer);
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => ({ input_id: input.id, path: issue.path.join('.'), message: issue.message }));
}

const APPROVAL = z.strictObject({ approved: z.boolean(), reason: z.string().max(500).optional() });

function compile(schema: Record<string, JsonValue>): z.ZodType {
  // The runtime checked the schema compiles before the run waited on it.
  return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
}
