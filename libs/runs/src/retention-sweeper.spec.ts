import { JsonLogger } from '@skreaver/observability';

import { RetentionSweeper } from './retention-sweeper';
import type { RetentionDelete, RetentionPolicy } from './retention-sweeper';

const NOW = Date.UTC(2026, 5, 1);
const POLICY: RetentionPolicy = { runsDays: 30, auditDays: 365, deadLettersDays: 14, batchSize: 10, passBudgetMs: 60_000 };

/** A delete that removes `backlog` items, at most `limit` per call. */
function backlogOf(backlog: number): jest.MockedFunction<RetentionDelete> {
  let left = backlog;
  return jest.fn(async (_before, limit) => {
    const deleted = Math.min(left, limit);
    left -= deleted;
    return deleted;
  });
}

describe(RetentionSweeper.name, () => {
  const logger = new JsonLogger('skreaver_runs', 'error', () => undefined);

  it('should delete each kind in batches until a batch comes back short, with each kind\'s own cutoff', async () => {
    const deletes = { runs: backlogOf(25), audit: backlogOf(0), dead_letters: backlogOf(10) };
    const sut = new RetentionSweeper(POLICY, deletes, logger);

    await expect(sut.sweep(NOW)).resolves.toEqual({ runs: 25, audit: 0, dead_letters: 10 });

    expect(deletes.runs).toHaveBeenCalledTimes(3);
    expect(deletes.runs).toHaveBeenCalledWith({ iso: new Date(NOW - 30 * 86_400_000).toISOString(), ms: NOW - 30 * 86_400_000 }, 10);
    expect(deletes.audit).toHaveBeenCalledWith(expect.objectContaining({ ms: NOW - 365 * 86_400_000 }), 10);
    // A full batch may not be the last: one more call finds nothing.
    expect(deletes.dead_letters).toHaveBeenCalledTimes(2);
  });

  it('should skip a kind kept forever (0 days)', async () => {
    const deletes = { runs: backlogOf(5), audit: backlogOf(5), dead_letters: backlogOf(5) };
    const sut = new RetentionSweeper({ ...POLICY, runsDays: 0, deadLettersDays: 0 }, deletes, logger);

    await expect(sut.sweep(NOW)).resolves.toEqual({ runs: 0, audit: 5, dead_letters: 0 });
    expect(deletes.runs).not.toHaveBeenCalled();
    expect(deletes.dead_letters).not.toHaveBeenCalled();
  });

  it('should stop starting batches once the pass budget is spent, leaving the rest to the next pass', async () => {
    const deletes = { runs: backlogOf(1_000), audit: backlogOf(0), dead_letters: backlogOf(0) };
    const sut = new RetentionSweeper({ ...POLICY, passBudgetMs: 0 }, deletes, logger);

    await expect(sut.sweep(NOW)).resolves.toEqual({ runs: 10, audit: 0, dead_letters: 0 });
  });

  it('should still sweep the other kinds when one fails', async () => {
    const deletes = { runs: jest.fn<Promise<number>, Parameters<RetentionDelete>>().mockRejectedValue(new Error('database down')), audit: backlogOf(3), dead_letters: backlogOf(2) };
    const sut = new RetentionSweeper(POLICY, deletes, logger);

    await expect(sut.sweep(NOW)).resolves.toEqual({ runs: 0, audit: 3, dead_letters: 2 });
  });
});
