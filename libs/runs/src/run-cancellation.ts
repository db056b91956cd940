import { RUN_CANCEL_CHANNEL, RunCancelRequestV1 } from '@skreaver/contracts';
import { publishToChannel, subscribeToChannel } from '@skreaver/messaging';
import type { RedisClient } from '@skreaver/messaging';

// A request outlives a missed message: a coordinator that picks the run up later still sees it.
const REQUEST_TTL_SECONDS = 3_600;

/**
 * Cancellation requests for running runs: a marker key (checked when a run starts) plus a pub/sub message (so the
 * coordinator running it aborts within milliseconds). Pub/sub alone would lose requests sent while no coordinator
 * listens; the key alone would need polling.
 */
export class RunCancellation {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  /** Asks whoever runs `runId` to stop it. */
  async request(runId: string, reason: string): Promise<void> {
    const message: RunCancelRequestV1 = RunCancelRequestV1.parse({ run_id: runId, reason });
    // The marker first, then the message; not one MULTI: on a cluster a sharded channel is a key of its own slot.
    await this.redis.set(this.key(runId), reason, 'EX', REQUEST_TTL_SECONDS);
    await publishToChannel(this.redis, this.channel(), JSON.stringify(message));
  }

  /** The reason given when `runId`'s cancellation was requested, or null. */
  async requested(runId: string): Promise<string | null> {
    return this.redis.get(this.key(runId));
  }

  /**
   * Calls `onRequest` for every valid request from now on; `subscriber` must be a dedicated connection (it enters
   * subscribe mode). Returns a function that unsubscribes.
   */
  async listen(subscriber: RedisClient, onRequest: (request: RunCancelRequestV1) => void): Promise<() => Promise<void>> {
    return subscribeToChannel(subscriber, this.channel(), RunCancelRequestV1, onRequest);
  }

  private key(runId: string): string {
    return `${this.keyPrefix}:run-cancel:{${runId}}`;
  }

  private channel(): string {
    return `${this.keyPrefix}:${RUN_CANCEL_CHANNEL}`;
  }
}
