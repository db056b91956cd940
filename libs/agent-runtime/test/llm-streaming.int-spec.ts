import type { JsonValue, RunActivity } from '@skreaver/contracts';
import { lastUserMessage, startModelStandIn } from '@skreaver/testing';
import type { ModelStandIn, StandInReply } from '@skreaver/testing';
import { AgentRegistry, AgentRunner, GuardedHttpClient, NetworkPolicy, builtInAgents } from '../src';
import type { ModelCall, RunUsage } from '../src';

const HTTP = { maxTimeoutMs: 5_000, maxResponseBytes: 64 * 1024 };

function newRunner(model: ModelStandIn) {
  const trustedHttp = new GuardedHttpClient(NetworkPolicy.create({ allowPrivateNetworks: true }), HTTP);
  const calls: ModelCall[] = [];
  const runner = new AgentRunner({
    registry: new AgentRegistry(builtInAgents({ llm: { defaults: { baseUrl: model.baseUrl, model: 'tiny' }, trustedHttp } })),
    http: HTTP,
    onModelCall: (call) => calls.push(call),
  });
  const activities: RunActivity[] = [];
  const usage: RunUsage[] = [];
  const run = (config: Record<string, JsonValue>, input: JsonValue, firstDeltaIndex?: number) =>
    runner.run({
      agentId: '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e',
      runId: '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f',
      tenantId: 'default',
      attempt: 1,
      kind: 'llm',
      config,
      input,
      signal: new AbortController().signal,
      firstDeltaIndex,
      onActivity: async (activity) => {
        activities.push(activity);
      },
      onUsage: (tokens) => usage.push(tokens),
    });
  const deltas = () => activities.flatMap((activity) => (activity.type === 'message.delta' ? [activity.data] : []));
  return { run, activities, deltas, usage, calls };
}

const ANSWER = 'Streaming answers arrive piece by piece, and the client sees them as they come. '.repeat(3);

describe('llm agent streaming from an OpenAI-compatible server', () => {
  let model: ModelStandIn;
  let reply: (messages: string) => StandInReply;

  beforeAll(async () => {
    model = await startModelStandIn({ chunkChars: 5, script: (request) => reply(lastUserMessage(request)) });
  });

  afterAll(async () => {
    await model?.close();
  });

  beforeEach(() => {
    model.requests.length = 0;
    model.setChunkDelay(0);
    reply = () => ({ content: ANSWER, usage: { prompt_tokens: 11, completion_tokens: 40 } });
  });

  it('should ask for a stream with usage, log the text as consecutive deltas, and answer with the whole text', async () => {
    model.setChunkDelay(2);
    const { run, deltas, activities, usage, calls } = newRunner(model);

    expect(await run({}, 'tell me')).toBe(ANSWER);

    expect(model.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(deltas().map((delta) => delta.text).join('')).toBe(ANSWER);
    expect(deltas().map((delta) => delta.index)).toEqual(deltas().map((_delta, index) => index));
    expect(deltas().every((delta) => delta.attempt === 1 && delta.step === 1)).toBe(true);
    // Coalesced: fewer events than the 5-character chunks the model sent.
    expect(deltas().length).toBeLessThan(Math.ceil(ANSWER.length / 5));
    expect(activities[0]?.type).toBe('run.step');
    expect(usage).toEqual([{ prompt_tokens: 11, completion_tokens: 40, total_tokens: 51 }]);
    expect(calls).toEqual([{ agentKind: 'llm', seconds: expect.any(Number), ok: true, usage: { prompt_tokens: 11, completion_tokens: 40 } }]);
  });

  it('should start delta indexes where earlier attempts stopped', async () => {
    const { run, deltas } = newRunner(model);

    await run({}, 'again', 7);

    expect(deltas()[0]?.index).toBe(7);
  });

  it('should assemble streamed tool calls, run them, and report every model call', async () => {
    reply = () => ({ content: 'Computing.', tool_calls: [{ id: 'c1', name: 'math', arguments: { expression: '6*7' } }], usage: { prompt_tokens: 5, completion_tokens: 3 } });
    model.script((request) =>
      request.messages.some((message) => message.role === 'tool') ? { content: `It is ${String(request.messages.at(-1)?.content)}`, usage: { prompt_tokens: 9, completion_tokens: 4 } } : reply(''),
    );
    const { run, activities, deltas, usage } = newRunner(model);

    try {
      expect(await run({ tools: ['math'] }, 'six times seven')).toBe('It is {"value":42}');
    } finally {
      model.script((request) => reply(lastUserMessage(request)));
    }

    expect(activities.map((activity) => activity.type)).toEqual(['run.step', 'message.delta', 'run.output', 'tool.call', 'tool.result', 'run.step', 'message.delta']);
    expect(activities.find((activity) => activity.type === 'tool.call')?.data).toMatchObject({ tool: 'math', input: { expression: '6*7' } });
    expect(deltas()).toEqual([
      { attempt: 1, step: 1, index: 0, text: 'Computing.' },
      { attempt: 1, step: 2, index: 1, text: 'It is {"value":42}' },
    ]);
    expect(model.requests[1]?.messages.find((message) => message.role === 'assistant')).toMatchObject({
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'math', arguments: '{"expression":"6*7"}' } }],
    });
    expect(usage).toHaveLength(2);
  });

  it('should not ask for a stream when the config says stream: false, and still record usage', async () => {
    const { run, deltas, usage } = newRunner(model);

    expect(await run({ stream: false }, 'plain')).toBe(ANSWER);

    expect(model.requests[0]?.body['stream']).toBeUndefined();
    expect(deltas()).toEqual([]);
    expect(usage).toEqual([{ prompt_tokens: 11, completion_tokens: 40, total_tokens: 51 }]);
  });

  it('should read a plain JSON answer to a stream request as before', async () => {
    reply = () => ({ content: 'whole', plainJson: true });
    const { run, deltas } = newRunner(model);

    expect(await run({}, 'hi')).toBe('whole');
    expect(deltas()).toEqual([]);
  });

  it('should fail a stream larger than the reply limit with llm_error, reporting the failed call', async () => {
    reply = () => ({ content: 'x'.repeat(200 * 1024) });
    model.setChunkDelay(0);
    const { run, calls } = newRunner(model);

    await expect(run({}, 'a lot')).rejects.toMatchObject({ code: 'llm_error', permanent: true, message: expect.stringContaining('exceeds') });
    expect(calls).toEqual([expect.objectContaining({ ok: false })]);
  });

  it('should hold the whole stream to request_timeout_ms (llm_unavailable, retryable)', async () => {
    reply = () => ({ content: 'slow '.repeat(100), chunkDelayMs: 50 });
    const { run } = newRunner(model);

    await expect(run({ request_timeout_ms: 300 }, 'slowly')).rejects.toMatchObject({ code: 'llm_unavailable', permanent: false, message: expect.stringContaining('300 ms') });
  });

  it('should fail a stream cut off mid-answer as retryable, after logging the text that arrived', async () => {
    reply = () => ({ content: ANSWER, dropAfterChunks: 20, chunkDelayMs: 5 });
    const { run, deltas } = newRunner(model);

    await expect(run({}, 'cut')).rejects.toMatchObject({ code: 'llm_unavailable', permanent: false });
    expect(deltas().length).toBeGreaterThan(0);
    expect(ANSWER.startsWith(deltas().map((delta) => delta.text).join(''))).toBe(true);
  });
});
