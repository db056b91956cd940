import { Session } from 'node:inspector';
import type { Readable } from 'node:stream';
import { getHeapSnapshot } from 'node:v8';

/** Longest CPU profile one request may take, seconds. */
export const MAX_PROFILE_SECONDS = 120;

let profiling = false;

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/**
 * Samples this process's CPU for `seconds` and returns the V8 `.cpuprofile` document (open it in Chrome DevTools or
 * speedscope). One profile at a time: a second request while one runs is refused rather than queued.
 */
export async function captureCpuProfile(seconds: number): Promise<object> {
  if (profiling) throw new Error('a CPU profile is already being taken');
  profiling = true;
  const session = new Session();
  session.connect();
  try {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.start');
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const { profile } = await post<{ profile: object }>(session, 'Profiler.stop');
    return profile;
  } finally {
    session.disconnect();
    profiling = false;
  }
}

/** A V8 heap snapshot of this process, streamed (it can be large and blocks the event loop while written). */
export function heapSnapshot(): Readable {
  return getHeapSnapshot();
}

/** Whether a CPU profile is being taken right now. */
export function isProfiling(): boolean {
  return profiling;
}
