export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects with `what` timed out after `ms`; the timer does not keep the process alive. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitUntil<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Calls `fire(i)` at `ratePerSecond` for `durationMs` (open loop: it does not wait for the calls), catching up when the
 * event loop was late. Resolves with the number of calls once the last one is fired.
 */
export async function atFixedRate(ratePerSecond: number, durationMs: number, fire: (i: number) => void): Promise<number> {
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * ratePerSecond) / 1000) + 1);
    while (sent < due) fire(sent++);
    const nextAt = started + (sent * 1000) / ratePerSecond;
    await sleep(Math.max(0, nextAt - performance.now()));
  }
  return sent;
}

/**
 * Runs `once` back to back on `concurrency` lanes until `durationMs` has passed (closed loop), and reports how many
 * calls completed per second. A call that throws ends its lane's turn and counts as an error.
 */
export async function closedLoop(concurrency: number, durationMs: number, once: () => Promise<void>): Promise<{ done: number; errors: number; perSecond: number; firstError?: string }> {
  const started = performance.now();
  const deadline = started + durationMs;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          await once();
          done += 1;
        } catch (error) {
          errors += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
          if (errors > 100) throw new Error(`closed loop: more than 100 errors, first: ${firstError}`);
        }
      }
    }),
  );
  const elapsed = performance.now() - started;
  return { done, errors, perSecond: (done * 1000) / elapsed, ...(firstError ? { firstError } : {}) };
}
