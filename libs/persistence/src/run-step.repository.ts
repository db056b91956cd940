import { RunStep } from '@skreaver/contracts';

import { DataSource, Repository } from 'typeorm';

import { RunStepEntity } from './entities/run-step.entity';
import { fromJsonText, toJsonText } from './json-text';

/** Reads and writes runs' journals (`run_steps`); rows are translated to and from the `RunStep` contract. */
export class RunStepRepository {
  private readonly rows: Repository<RunStepEntity>;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(RunStepEntity);
  }

  /** The run's journaled steps in ordinal order. @throws when a stored row no longer matches `RunStep`. */
  async list(runId: string): Promise<RunStep[]> {
    const rows = await this.rows.find({ where: { run_id: runId }, order: { ordinal: 'ASC' } });
    return rows.map(toStep);
  }

  /**
   * Stores `step` unless the run already has a step at its ordinal, and returns the step stored there: `step`, or
   * the one an earlier writer stored (a retried write, or a second worker on the same run), which then wins.
   * @throws when the run does not exist or `step` does not match the contract.
   */
  async record(step: RunStep): Promise<RunStep> {
    const valid = RunStep.parse(step);
    await this.rows.createQueryBuilder().insert().values(toRow(valid)).orIgnore().updateEntity(false).execute();
    const stored = await this.rows.findOneBy({ run_id: valid.run_id, ordinal: valid.ordinal });
    // Only a concurrent delete of the run (its agent deleted) leaves nothing: the run is gone, so is its journal.
    return stored ? toStep(stored) : valid;
  }
}

function toRow(step: RunStep): RunStepEntity {
  return { ...step, result: toJsonText(step.result) };
}

function toStep(row: RunStepEntity): RunStep {
  return RunStep.parse({
    run_id: row.run_id,
    ordinal: row.ordinal,
    kind: row.kind,
    name: row.name,
    // A driver may hand back a SQLite boolean as 0/1.
    ok: Boolean(row.ok),
    result: fromJsonText(row.result),
    created_at: row.created_at,
  });
}
