import type { ThreadMessage } from '@skreaver/contracts';

/** How much conversation a thread keeps (THREAD_MAX_MESSAGES, THREAD_MAX_BYTES). */
export interface ThreadSizePolicy {
  maxMessages: number;
  /** UTF-8 bytes of the messages' compact JSON, summed. */
  maxBytes: number;
}

/**
 * The conversation within `policy`: the oldest messages are dropped first, a whole group at a time, where a group
 * is a message with the `tool` results that follow it, so an assistant message asking for tool calls is never
 * separated from their results (a model refuses a tool result without its call). The newest group always stays,
 * even alone over the limits: a thread never forgets the turn it just had. Tool results left without their call
 * at the start (a history stored by hand) are dropped too.
 */
export function trimConversation(messages: readonly ThreadMessage[], policy: ThreadSizePolicy): ThreadMessage[] {
  const groups: { messages: ThreadMessage[]; bytes: number }[] = [];
  for (const message of messages) {
    const bytes = Buffer.byteLength(JSON.stringify(message), 'utf8');
    const last = groups.at(-1);
    if (message.role === 'tool' && last) {
      last.messages.push(message);
      last.bytes += bytes;
    } else if (message.role !== 'tool') {
      groups.push({ messages: [message], bytes });
    }
  }
  let count = groups.reduce((sum, group) => sum + group.messages.length, 0);
  let bytes = groups.reduce((sum, group) => sum + group.bytes, 0);
  let first = 0;
  while (first < groups.length - 1 && (count > policy.maxMessages || bytes > policy.maxBytes)) {
    const dropped = groups[first++];
    if (!dropped) break;
    count -= dropped.messages.length;
    bytes -= dropped.bytes;
  }
  return groups.slice(first).flatMap((group) => group.messages);
}
