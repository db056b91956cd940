import type { RunStep } from '@skreaver/contracts';

/** A journaled step as the runtime sees it: the N-th step of the run, what it was and the result it gave the agent. */
export type JournalEntry = Omit<RunStep, 'run_id' | 'created_at'>;

/**
 * Where a run's journal lives (the coordinator binds it to the run and to the database). Replay correctness rests on
 * two promises: `load` returns every entry an earlier attempt's `record` resolved for, and `record` resolves only once
 * the entry is durable.
 */
export interface RunJournal {
  /** The steps earlier attempts of the run recorded, in any order. */
  load(): Promise<JournalEntry[]>;
  /**
   * Stores `entry` unless the run has a step at its ordinal already; resolves with the entry stored there (an earlier
   * writer's wins, so two workers on one run give their agents the same answer).
   */
  record(entry: JournalEntry): Promise<JournalEntry>;
}

/** A journal kept in memory: for tests, and for a runner given no journal (a crash then loses it, as it loses the run). */
export class InMemoryRunJournal implements RunJournal {
  readonly entries = new Map<number, JournalEntry>();

  constructor(entries: readonly JournalEntry[] = []) {
    for (const entry of entries) this.entries.set(entry.ordinal, entry);
  }

  async load(): Promise<JournalEntry[]> {
    return [...this.entries.values()].sort((a, b) => a.ordinal - b.ordinal);
  }

  async record(entry: JournalEntry): Promise<JournalEntry> {
    const stored = this.entries.get(entry.ordinal) ?? entry;
    this.entries.set(entry.ordinal, stored);
    return stored;
  }
}
