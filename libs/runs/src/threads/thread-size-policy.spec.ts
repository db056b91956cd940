import type { ThreadMessage } from '@skreaver/contracts';

import { trimConversation } from './thread-size-policy';

const user = (content: string): ThreadMessage => ({ role: 'user', content });
const answer = (content: string): ThreadMessage => ({ role: 'assistant', content });
const asking = (id: string): ThreadMessage => ({ role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'math', arguments: '{}' } }] });
const result = (id: string): ThreadMessage => ({ role: 'tool', tool_call_id: id, content: '{"value":1}' });
const bytes = (messages: ThreadMessage[]) => messages.reduce((sum, message) => sum + Buffer.byteLength(JSON.stringify(message)), 0);

describe('trimConversation', () => {
  const roomy = { maxMessages: 1_000, maxBytes: 1_000_000 };

  it('should keep a conversation within both limits as it is', () => {
    const messages = [user('a'), answer('b'), user('c'), answer('d')];
    expect(trimConversation(messages, roomy)).toEqual(messages);
    expect(trimConversation(messages, { maxMessages: 4, maxBytes: bytes(messages) })).toEqual(messages);
  });

  it('should drop the oldest messages until the count fits', () => {
    const messages = [user('a'), answer('b'), user('c'), answer('d'), user('e'), answer('f')];
    expect(trimConversation(messages, { ...roomy, maxMessages: 3 })).toEqual([answer('d'), user('e'), answer('f')]);
  });

  it('should drop the oldest messages until the bytes fit', () => {
    const messages = [user('x'.repeat(500)), answer('short'), user('y'), answer('z')];
    const tail = messages.slice(1);
    expect(trimConversation(messages, { ...roomy, maxBytes: bytes(tail) })).toEqual(tail);
  });

  it('should never separate an assistant message asking for tools from the tool results', () => {
    const messages = [user('q'), asking('c1'), result('c1'), result('c1b'), answer('done'), user('next'), answer('ok')];
    // Dropping 2 would cut between the call and its results: the whole group goes instead.
    expect(trimConversation(messages, { ...roomy, maxMessages: 5 })).toEqual([answer('done'), user('next'), answer('ok')]);
    expect(trimConversation(messages, { ...roomy, maxMessages: 6 })).toEqual(messages.slice(1));
  });

  it('should keep the newest group even when it alone is over the limits', () => {
    const messages = [user('old'), asking('c1'), result('c1'), result('c2')];
    expect(trimConversation(messages, { maxMessages: 2, maxBytes: 10 })).toEqual([asking('c1'), result('c1'), result('c2')]);
  });

  it('should drop tool results that have lost their call at the start', () => {
    expect(trimConversation([result('lost'), user('a'), answer('b')], roomy)).toEqual([user('a'), answer('b')]);
  });
});
