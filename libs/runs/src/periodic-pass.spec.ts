import type { JsonLogger } from '@skreaver/observability';
import { waitFor } from '@skreaver/testing';

import { PeriodicPass } from './periodic-pass';

function fakeLogger() {
  const warnings: Array<{ message: string; fields: unknown }> = [];
  const logger = { write: (level: string, message: string, fields: unknown) => void (level === 'warn' && warnings.push({ message, fields })) };
  return { logger: logger as unknown as JsonLogger, warnings };
}

describe(PeriodicPass.name, () => {
  it('should run the first pass at once when asked, keep going after a failed pass, and log the failure', async () => {
    const { logger, warnings } = fakeLogger();
    let passes = 0;
    const sut = new PeriodicPass({
      intervalMs: 5,
      immediately: true,
      logger,
      failure: 'Pass failed',
      pass: async () => {
        passes += 1;
        if (passes === 1) throw new Error('database down');
      },
    });

    sut.start();
    await waitFor(async () => passes >= 3, { what: 'three passes' });
    await sut.stop();

    expect(warnings[0]).toEqual({ message: 'Pass failed', fields: { error: 'Error: database down' } });
    const stoppedAt = passes;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(passes).toBe(stoppedAt);
  });

  it('should wait for a pass in progress when stopped', async () => {
    const { logger } = fakeLogger();
    let release: () => void = () => undefined;
    let finished = false;
    const sut = new PeriodicPass({
      intervalMs: 60_000,
      immediately: true,
      logger,
      failure: 'Pass failed',
      pass: async () => {
        await new Promise<void>((resolve) => (release = resolve));
        finished = true;
      },
    });
    sut.start();

    const stopped = sut.stop();
    release();
    await stopped;

    expect(finished).toBe(true);
  });
});
