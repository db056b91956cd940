import { PendingHandshakes } from './pending-handshakes';

describe('PendingHandshakes', () => {
  afterEach(() => jest.useRealTimers());

  it('refuses a handshake beyond the cap until one ends, and ending twice frees one slot only', () => {
    const sut = new PendingHandshakes(2, 60_000);
    const first = sut.begin();
    const second = sut.begin();
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(sut.begin()).toBeUndefined();
    first?.();
    first?.();
    expect(sut.size).toBe(1);
    const third = sut.begin();
    expect(third).toBeDefined();
    expect(sut.begin()).toBeUndefined();
    second?.();
    third?.();
    expect(sut.size).toBe(0);
  });

  it('stops counting a handshake that never ends after the hold time', () => {
    jest.useFakeTimers();
    const sut = new PendingHandshakes(1, 5_000);
    const end = sut.begin();
    expect(sut.begin()).toBeUndefined();
    jest.advanceTimersByTime(5_000);
    expect(sut.size).toBe(0);
    end?.();
    expect(sut.size).toBe(0);
  });
});
