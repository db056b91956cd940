import { Backoff, backoffDelay } from './backoff';

describe(backoffDelay.name, () => {
  it('should double from the initial delay up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 60].map((attempt) => backoffDelay(attempt))).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });

  it('should not overflow for large attempts, capped or not', () => {
    expect(backoffDelay(5_000, 1_000, 60_000)).toBe(60_000);
    expect(backoffDelay(2, 250, Infinity)).toBe(1_000);
    expect(Number.isFinite(backoffDelay(5_000, 1, Infinity))).toBe(true);
  });
});

describe(Backoff.name, () => {
  it('should double per call and start over after reset', () => {
    const backoff = new Backoff(10, 50);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([10, 20, 40, 50]);
    backoff.reset();
    expect(backoff.next()).toBe(10);
  });
});
