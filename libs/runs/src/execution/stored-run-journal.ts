import type { JournalEntry, RunJournal } from '@skreaver/agent-runtime';
import type { RunStepRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

import type { DatabaseWait } from '../database-wait';

/**
 * A run's journal in the database (`run_steps`), for one attempt. Reads and writes wait out a database outage
 * (`DatabaseWait`): a step's result is never lost to one, the agent just gets it later. A write stops waiting when
 * the run is cancelled (`signal`): a cancelled run is not replayed.
 */
export class StoredRunJournal implements RunJournal {
  constructor(
    private readonly steps: Pick<RunStepRepository, 'list' | 'record'>,
    private readonly runId: string,
    private readonly database: DatabaseWait,
    private readonly signal?: AbortSignal,
    /** `fresh`: no attempt of the run had started before this one (steps are recorded only after `markRunning`): no steps to read. */
    private readonly options: { fresh?: boolean } = {},
  ) {}

  async load(): Promise<JournalEntry[]> {
    if (this.options.fresh) return [];
    const steps = await this.database.run(() => this.steps.list(this.runId), 'read run journal', this.signal);
    return steps.map(toEntry);
  }

  async record(entry: JournalEntry): Promise<JournalEntry> {
    const step = { ...entry, run_id: this.runId, created_at: nowIso() };
    return toEntry(await this.database.run(() => this.steps.record(step), 'record run step', this.signal));
  }
}

function toEntry({ ordinal, kind, name, ok, result }: JournalEntry): JournalEntry {
  return { ordinal, kind, name, ok, result };
}
