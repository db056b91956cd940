import { ConnectionLimits } from './connection-limits';

describe(ConnectionLimits.name, () => {
  it('should refuse an address at its limit while others still connect', () => {
    const sut = new ConnectionLimits({ maxConnections: 10, maxPerAddress: 2 });
    expect(sut.acquire('a')).toMatchObject({ ok: true });
    expect(sut.acquire('a')).toMatchObject({ ok: true });
    expect(sut.acquire('a')).toEqual({ ok: false, refusal: 'too_many_connections' });
    expect(sut.acquire('b')).toMatchObject({ ok: true });
    expect(sut.size).toBe(3);
  });

  it('should refuse everybody at the replica limit, and free a slot exactly once per release', () => {
    const sut = new ConnectionLimits({ maxConnections: 2, maxPerAddress: 2 });
    const first = sut.acquire('a');
    sut.acquire('b');
    expect(sut.acquire('c')).toEqual({ ok: false, refusal: 'max_connections' });
    if (!first.ok) throw new Error('expected a slot');
    first.release();
    first.release();
    expect(sut.size).toBe(1);
    expect(sut.acquire('c')).toMatchObject({ ok: true });
    expect(sut.acquire('d')).toEqual({ ok: false, refusal: 'max_connections' });
  });
});
