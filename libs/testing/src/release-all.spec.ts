import { releaseAll } from './release-all';

describe(releaseAll.name, () => {
  it('should run every step in order even when earlier ones fail, then throw the first failure', async () => {
    const ran: string[] = [];
    const released = releaseAll(
      () => {
        ran.push('close');
        throw new Error('close failed');
      },
      async () => {
        ran.push('keys');
        throw new Error('keys failed');
      },
      () => ran.push('database'),
    );
    await expect(released).rejects.toThrow('close failed');
    expect(ran).toEqual(['close', 'keys', 'database']);
  });

  it('should resolve when every step succeeds', async () => {
    const ran: number[] = [];
    await releaseAll(
      async () => ran.push(1),
      () => ran.push(2),
    );
    expect(ran).toEqual([1, 2]);
  });
});
