import { AgentActivitySettler } from './agent-activity.settler';
import type { HotSql, HotStatement } from './hot-sql';

/** A HotSql whose transactions wait until the test lets them commit (or fail), in order. */
function gatedSql() {
  const started: { statements: readonly HotStatement[]; commit: () => void; fail: (error: Error) => void }[] = [];
  const sql = {
    transaction: (statements: readonly HotStatement[]) =>
      new Promise<number[]>((resolve, reject) => {
        started.push({ statements, commit: () => resolve(statements.map(() => 1)), fail: reject });
      }),
  };
  return { sql: sql as unknown as HotSql, started };
}

const at = (second: number) => `2026-12-07T10:00:${String(second).padStart(2, '0')}.000Z`;
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(AgentActivitySettler.name, () => {
  it('should settle an agent once for the calls made while its transaction was in flight, at the latest time', async () => {
    const { sql, started } = gatedSql();
    const sut = new AgentActivitySettler(sql);

    const first = sut.settle('t1', 'a1', at(1));
    await flush();
    const [second, third, fourth] = [sut.settle('t1', 'a1', at(3)), sut.settle('t1', 'a1', at(2)), sut.settle('t1', 'a1', at(4))];
    await flush();
    expect(started).toHaveLength(1);

    started[0]?.commit();
    await first;
    await flush();
    // The three calls made meanwhile share the next transaction, which began after each of them.
    expect(started).toHaveLength(2);
    expect(started[1]?.statements[0]?.params).toEqual([at(4), at(4), 'a1', 't1']);
    started[1]?.commit();
    await Promise.all([second, third, fourth]);
  });

  it('should settle different agents side by side', async () => {
    const { sql, started } = gatedSql();
    const sut = new AgentActivitySettler(sql);

    const settled = [sut.settle('t1', 'a1', at(1)), sut.settle('t1', 'a2', at(1)), sut.settle('t2', 'a1', at(1))];
    await flush();

    expect(started).toHaveLength(3);
    started.forEach((transaction) => transaction.commit());
    await Promise.all(settled);
  });

  it('should reject only the calls of a transaction that failed, and settle the later ones', async () => {
    const { sql, started } = gatedSql();
    const sut = new AgentActivitySettler(sql);

    const failed = sut.settle('t1', 'a1', at(1));
    await flush();
    const later = sut.settle('t1', 'a1', at(2));
    started[0]?.fail(new Error('database is down'));
    await expect(failed).rejects.toThrow('database is down');
    await flush();

    expect(started).toHaveLength(2);
    started[1]?.commit();
    await expect(later).resolves.toBeUndefined();
    // Nothing in flight any more: a new call starts a transaction of its own at once.
    const again = sut.settle('t1', 'a1', at(3));
    await flush();
    expect(started).toHaveLength(3);
    started[2]?.commit();
    await again;
  });
});
