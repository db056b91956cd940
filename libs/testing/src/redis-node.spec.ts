import { PortTakenError, startOnFreshPorts } from './redis-node';

describe(startOnFreshPorts.name, () => {
  it('should start again after a port was taken, resetting in between', async () => {
    const calls: string[] = [];
    let attempts = 0;
    await startOnFreshPorts(
      async () => {
        attempts += 1;
        calls.push(`start ${attempts}`);
        if (attempts < 3) throw new PortTakenError(1000 + attempts);
      },
      async () => {
        calls.push('reset');
      },
    );
    expect(calls).toEqual(['start 1', 'reset', 'start 2', 'reset', 'start 3']);
  });

  it('should give up after three taken ports, and at once on any other failure', async () => {
    const reset = jest.fn(async () => undefined);
    await expect(startOnFreshPorts(async () => Promise.reject(new PortTakenError(1)), reset)).rejects.toBeInstanceOf(PortTakenError);
    expect(reset).toHaveBeenCalledTimes(3);

    reset.mockClear();
    await expect(startOnFreshPorts(async () => Promise.reject(new Error('bad config')), reset)).rejects.toThrow('bad config');
    expect(reset).toHaveBeenCalledTimes(1);
  });
});
