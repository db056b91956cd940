import { JsonValue } from '@skreaver/contracts';
import type { RunStepKind } from '@skreaver/contracts';

import { AgentFailure } from '../agent-errors';
import type { JournalEntry, RunJournal } from './run-journal';

/** A step's place in the run: its ordinal, and the entry an earlier attempt recorded there (then: replay it). */
export interface StepClaim {
  readonly ordinal: number;
  readonly kind: RunStepKind;
  readonly name: string;
  readonly recorded?: JournalEntry;
}

/** Most characters of a step's name (the journal's column). */
export const MAX_STEP_NAME = 200;

/**
 * One attempt's view of the run's journal. The agent runs from the start on every attempt; its N-th journaled step
 * (tool call, model call, `context.step`), counted in the order the agent asks for them, is step N of the run. When
 * an earlier attempt recorded step N its result is replayed and nothing is executed; otherwise the step executes and
 * its result is recorded before the agent sees it. Asking for a different step at N than the journal holds fails the
 * run for good (`nondeterministic_replay`), as replaying answers to other questions would be wrong.
 */
export class RunReplay {
  private claimed = 0;
  private failure: AgentFailure | undefined;

  private constructor(
    private readonly journal: RunJournal | undefined,
    private readonly recorded: ReadonlyMap<number, JournalEntry>,
  ) {}

  /** Loads the run's journal; without one, nothing is replayed and results are kept in no store. */
  static async open(journal: RunJournal | undefined): Promise<RunReplay> {
    const entries = journal ? await journal.load() : [];
    return new RunReplay(journal, new Map(entries.map((entry) => [entry.ordinal, entry])));
  }

  /** The `nondeterministic_replay` failure once the agent strayed from its journal (even if it caught the error). */
  get breach(): AgentFailure | undefined {
    return this.failure;
  }

  /** Whether the agent's next journaled step has a recorded result (it is still catching up with earlier attempts). */
  get replaying(): boolean {
    return this.recorded.has(this.claimed + 1);
  }

  /**
   * Takes the next ordinal for a step; synchronous, so steps the agent starts together get ordinals in the order it
   * asked for them.
   * @throws AgentFailure `nondeterministic_replay` (permanent) when the journal holds another step at that ordinal.
   */
  claim(kind: RunStepKind, name: string): StepClaim {
    const ordinal = ++this.claimed;
    const shown = name.slice(0, MAX_STEP_NAME) || '?';
    const recorded = this.recorded.get(ordinal);
    if (recorded) this.check(recorded, kind, shown);
    return { ordinal, kind, name: shown, recorded };
  }

  /**
   * Records a claimed step's outcome and resolves with the entry stored (another worker's may have won): what the
   * agent must be given. `result` is stored as JSON, so the agent gets on this attempt exactly what a replay gives.
   */
  async record(claim: StepClaim, ok: boolean, result: unknown): Promise<JournalEntry> {
    const entry: JournalEntry = { ordinal: claim.ordinal, kind: claim.kind, name: claim.name, ok, result: asJson(result) };
    if (!this.journal) return entry;
    const stored = await this.journal.record(entry);
    this.check(stored, claim.kind, claim.name);
    return stored;
  }

  private check(entry: JournalEntry, kind: RunStepKind, name: string): void {
    if (entry.kind === kind && entry.name === name) return;
    this.failure ??= new AgentFailure(
      'nondeterministic_replay',
      `step ${entry.ordinal} of this run was ${entry.kind} "${entry.name}" but the agent now asked for ${kind} "${name}": ` +
        'an agent must take the same journaled steps in the same order on every attempt',
      true,
    );
    throw this.failure;
  }
}

/** `value` as JSON text would carry it (`undefined` properties dropped, `undefined` itself `null`). */
function asJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  const parsed = text === undefined ? undefined : JsonValue.safeParse(JSON.parse(text));
  if (!parsed?.success) throw new AgentFailure('invalid_step_result', 'a journaled step returned a value that is not JSON', true);
  return parsed.data;
}
