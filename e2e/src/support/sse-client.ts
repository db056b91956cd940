import { readEventStream as read } from '@skreaver/testing';
import type { ReadEventStream, ReadEventStreamOptions } from '@skreaver/testing';

import { withDefaultCredentials } from './credentials';

export type { ReceivedSse } from '@skreaver/testing';

/** `readEventStream` of @skreaver/testing, with the stack's token for agent-api unless the test sends a credential. */
export function readEventStream(url: string, options: ReadEventStreamOptions = {}): Promise<ReadEventStream> {
  return read(url, { ...options, headers: withDefaultCredentials(url, options.headers) });
}
