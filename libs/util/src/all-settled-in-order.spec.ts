import { allSettledInOrder } from '.';

describe(allSettledInOrder.name, () => {
  it('should resolve with every value, in order', async () => {
    await expect(allSettledInOrder([Promise.resolve(1), Promise.resolve('two')])).resolves.toEqual([1, 'two']);
  });

  it('should reject with the first rejection in order, only once every promise has settled', async () => {
    let finishLast: () => void = () => undefined;
    const last = new Promise<void>((resolve) => (finishLast = resolve));
    let settled = false;
    const all = allSettledInOrder([Promise.resolve(1), Promise.reject(new Error('first')), Promise.reject(new Error('second')), last]);
    void all.catch(() => undefined).finally(() => (settled = true));

    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    finishLast();
    await expect(all).rejects.toThrow('first');
  });
});
