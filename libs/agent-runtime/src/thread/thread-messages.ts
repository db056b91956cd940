import type { ThreadMessage } from '@skreaver/contracts';

import type { AgentThread } from './agent-thread';

type PriorMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[] }
  | { role: 'tool'; tool_call_id: string; content: string };

/**
 * A thread's history as chat messages for an OpenAI-compatible model (the `llm` kind sends them before the new
 * input): user, assistant (with its tool calls) and tool messages as stored; a stored system message is sent as is.
 */
export function priorMessages(thread: AgentThread | undefined): PriorMessage[] {
  return (thread?.history ?? []).map(toChat);
}

function toChat(message: ThreadMessage): PriorMessage {
  if (message.role === 'assistant') {
    const calls = message.tool_calls?.map((call) => ({ ...call, type: 'function' as const }));
    return calls && calls.length > 0 ? { role: 'assistant', content: message.content, tool_calls: calls } : { role: 'assistant', content: message.content };
  }
  if (message.role === 'tool') return { role: 'tool', tool_call_id: message.tool_call_id ?? '', content: message.content ?? '' };
  return { role: message.role, content: message.content ?? '' };
}
