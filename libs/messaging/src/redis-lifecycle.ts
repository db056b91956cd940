import { type RedisClient, isCluster } from './redis-connection';

/** Reopens a connection that a previous `stop()` closed, so a stopped reader can be started again. */
export function reopen(redis: RedisClient): void {
  // Failed attempts are retried by the retryStrategy and commands wait in the offline queue meanwhile.
  if (isEnded(redis)) redis.connect().catch(() => undefined);
}

/**
 * Resolves once `redis` has fully closed (`quit()` and `disconnect()` only start closing), or after `timeoutMs`:
 * a connection that was between reconnect attempts has no socket left to close and may never emit 'end'.
 */
export function whenEnded(redis: RedisClient, timeoutMs = 1_000): Promise<void> {
  if (isEnded(redis)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('end', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('end', done);
  });
}

/** Closes `redis` politely (QUIT) and, when that does not finish within `timeoutMs`, by dropping the socket. */
export async function closeConnection(redis: RedisClient, timeoutMs = 1_000): Promise<void> {
  if (isEnded(redis)) return;
  const ended = whenEnded(redis, timeoutMs);
  // QUIT queues behind a blocked read, and on a connection that is reconnecting its promise may never settle: the
  // timer drops the socket and stops waiting for the reply, so closing is bounded whatever state the client is in.
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      redis.disconnect();
      resolve();
    }, timeoutMs);
  });
  try {
    await Promise.race([redis.quit().then(() => undefined), cutOff]);
  } catch {
    redis.disconnect();
  } finally {
    clearTimeout(timer);
  }
  await ended;
  if (!isEnded(redis)) redis.disconnect();
}

// A function rather than an inline comparison: the status changes across awaits, which TypeScript's narrowing ignores.
// A cluster client that was disconnected may settle on 'close' after its 'end' (late 'close' events of its node
// connections set it again); while it reconnects 'close' is only set and left within one tick, so a 'close' seen
// from outside means closed.
function isEnded(redis: RedisClient): boolean {
  return redis.status === 'end' || (isCluster(redis) && redis.status === 'close');
}

/**
 * Waits for a reader's loop to end once it was told to stop. A blocked read is waited out, because a reply lost in
 * flight would leave what it read pending until reclaimed; only when Redis has not answered within `ms` is `cut`
 * aborted (the loop stops waiting for commands that may never settle) and the connection dropped.
 */
export async function endReadLoop(loop: Promise<void> | undefined, redis: RedisClient, cut: AbortController, ms: number): Promise<void> {
  let cutOff = false;
  const timer = setTimeout(() => {
    cutOff = true;
    cut.abort();
    redis.disconnect();
  }, ms);
  try {
    await loop;
  } finally {
    clearTimeout(timer);
  }
  if (cutOff) await whenEnded(redis);
}
