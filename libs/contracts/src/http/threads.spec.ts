import { CreateThreadRequest, CreateThreadRunRequest, ListThreadsQuery, ThreadHistoryQuery, ThreadMessage, UpdateThreadRequest } from './threads';

const AGENT_ID = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';
const CHECKPOINT_ID = '6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d';

describe('thread contracts', () => {
  it('should default a new thread\'s metadata and leave its double-texting policy to the agent', () => {
    expect(CreateThreadRequest.parse({ agent_id: AGENT_ID })).toEqual({ agent_id: AGENT_ID, metadata: {} });
    expect(CreateThreadRequest.safeParse({ agent_id: AGENT_ID, double_texting: 'parallel' }).success).toBe(false);
    expect(CreateThreadRequest.safeParse({ agent_id: AGENT_ID, extra: 1 }).success).toBe(false);
  });

  it('should refuse an empty update and accept null to go back to the agent\'s policy', () => {
    expect(UpdateThreadRequest.safeParse({}).success).toBe(false);
    expect(UpdateThreadRequest.parse({ double_texting: null })).toEqual({ double_texting: null });
    expect(UpdateThreadRequest.parse({ metadata: { title: 'x' } })).toEqual({ metadata: { title: 'x' } });
  });

  it('should take an input and optionally a checkpoint to fork from, nothing else', () => {
    expect(CreateThreadRunRequest.parse({ input: { q: 1 }, checkpoint_id: CHECKPOINT_ID })).toEqual({ input: { q: 1 }, checkpoint_id: CHECKPOINT_ID });
    expect(CreateThreadRunRequest.safeParse({ checkpoint_id: CHECKPOINT_ID }).success).toBe(false);
    expect(CreateThreadRunRequest.safeParse({ input: 'x', checkpoint_id: 'step-1' }).success).toBe(false);
    expect(CreateThreadRunRequest.safeParse({ input: 'x', wait: 1 }).success).toBe(false);
  });

  it('should coerce query strings and bound the page sizes', () => {
    expect(ThreadHistoryQuery.parse({ before: '3', limit: '5' })).toEqual({ before: 3, limit: 5 });
    expect(ThreadHistoryQuery.parse({})).toEqual({ limit: 20 });
    expect(ThreadHistoryQuery.safeParse({ limit: '101' }).success).toBe(false);
    expect(ListThreadsQuery.parse({ status: 'busy' })).toEqual({ status: 'busy', limit: 100 });
    expect(ListThreadsQuery.safeParse({ status: 'running' }).success).toBe(false);
  });

  it('should take chat messages of the four roles, with tool calls and tool results', () => {
    const call = { id: 'c1', type: 'function' as const, function: { name: 'math', arguments: '{}' } };
    expect(ThreadMessage.parse({ role: 'assistant', content: null, tool_calls: [call] })).toEqual({ role: 'assistant', content: null, tool_calls: [call] });
    expect(ThreadMessage.parse({ role: 'tool', tool_call_id: 'c1', content: '{"value":1}' })).toEqual({ role: 'tool', tool_call_id: 'c1', content: '{"value":1}' });
    expect(ThreadMessage.safeParse({ role: 'robot', content: 'x' }).success).toBe(false);
  });
});
