import { uuidV7 } from './uuid-v7';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The milliseconds an id carries in its first 48 bits. */
function millisecondsOf(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

describe(uuidV7.name, () => {
  it('should be an RFC 9562 version 7 UUID carrying the time it was made', () => {
    const before = Date.now();
    const id = uuidV7();
    const after = Date.now();
    expect(id).toMatch(V7);
    expect(millisecondsOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisecondsOf(id)).toBeLessThanOrEqual(after);
  });

  it('should encode all 48 bits of the time, the ones above 32 bits included', () => {
    for (const at of [0, 1, 0xffff_ffff, 0x1_0000_0000, Date.UTC(2026, 11, 7), 2 ** 48 - 1]) {
      expect(millisecondsOf(uuidV7(at))).toBe(at);
    }
  });

  it('should sort by the time it was made across milliseconds', () => {
    const ids = [5, 1_000, 1_001, 2 ** 40, 2 ** 40 + 1].map((at) => uuidV7(at));
    expect([...ids].sort()).toEqual(ids);
  });

  it('should differ within one millisecond, past the entropy pool refilling', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidV7(1_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(V7);
  });
});
