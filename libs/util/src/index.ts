import { uuidV7 } from './uuid-v7';

export { Backoff, backoffDelay } from './backoff';
export type { DependencyOutage } from './dependency-outage';
export { uuidV7 } from './uuid-v7';

/** A new id: a time-ordered UUID (v7), 74 of its bits random. */
export function newId(): string {
  return uuidV7();
}

/** Now as an ISO-8601 UTC timestamp with milliseconds. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Compile-time exhaustiveness check for switches over unions. */
export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}

/** Resolves after `ms`, or rejects early with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with `message` if `promise` has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Settles like `promise`, or rejects with the signal's reason once it aborts; the promise is then left to settle
 * unobserved. For loops that must end on stop while a command waits on a connection that may never answer (an
 * ioredis client disconnected between reconnect attempts keeps its queued commands pending forever).
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * `Promise.all` that settles only once every promise has, rejecting with the first rejection in order: for commands
 * sent together (as a pipeline's replies are read), so a caller's clean-up never starts while one is still in flight.
 */
export async function allSettledInOrder<T extends readonly unknown[]>(promises: { readonly [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  for (const result of results) if (result.status === 'rejected') throw result.reason;
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
