import { lastUserMessage, startModelStandIn } from '../src';
import type { ModelStandIn } from '../src';

/** Reads a server-sent event body into its `data:` payloads. */
function dataLines(text: string): string[] {
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

describe('model stand-in', () => {
  let model: ModelStandIn;

  beforeAll(async () => {
    model = await startModelStandIn({ chunkChars: 4 });
  });

  afterAll(async () => {
    await model?.close();
  });

  beforeEach(() => {
    model.requests.length = 0;
    model.script((request) => ({ content: `echo: ${lastUserMessage(request)}` }));
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${model.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('should answer plain JSON with the scripted text, usage, and log the request', async () => {
    const response = await post({ model: 'tiny', messages: [{ role: 'user', content: 'hello there' }] }, { authorization: 'Bearer sk-1' });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      model: 'tiny',
      choices: [{ message: { role: 'assistant', content: 'echo: hello there' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 },
    });
    expect(model.requests).toEqual([
      expect.objectContaining({ n: 1, model: 'tiny', stream: false, includeUsage: false, messages: [{ role: 'user', content: 'hello there' }] }),
    ]);
    expect(model.requests[0]?.headers['authorization']).toBe('Bearer sk-1');
  });

  it('should stream content and tool-call deltas, then usage, then [DONE]', async () => {
    model.script(() => ({ content: 'Let me see.', tool_calls: [{ id: 'c1', name: 'math', arguments: { expression: '6*7' } }], usage: { prompt_tokens: 10, completion_tokens: 3 } }));

    const response = await post({ model: 'tiny', messages: [{ role: 'user', content: 'q' }], stream: true, stream_options: { include_usage: true } });

    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const data = dataLines(await response.text());
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line) as { choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: unknown });
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta));
    expect(deltas.map((delta) => delta['content']).filter((text) => text)).toEqual(['Let ', 'me s', 'ee.']);
    const toolDeltas = deltas.flatMap((delta) => (delta['tool_calls'] as Array<{ index: number; id?: string; function: { name?: string; arguments: string } }>) ?? []);
    expect(toolDeltas[0]).toEqual({ index: 0, id: 'c1', type: 'function', function: { name: 'math', arguments: '' } });
    expect(toolDeltas.map((delta) => delta.function.arguments).join('')).toBe('{"expression":"6*7"}');
    expect(chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason)).filter(Boolean)).toEqual(['tool_calls']);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } });
    expect(model.requests[0]).toMatchObject({ stream: true, includeUsage: true });
  });

  it('should leave usage out of a stream that did not ask for it', async () => {
    const data = dataLines(await (await post({ messages: [{ role: 'user', content: 'q' }], stream: true })).text());

    expect(data.slice(0, -1).some((line) => 'usage' in (JSON.parse(line) as object))).toBe(false);
  });

  it('should answer plain JSON to a stream request when scripted as an endpoint that cannot stream', async () => {
    model.script(() => ({ content: 'whole', plainJson: true }));

    const response = await post({ messages: [], stream: true });

    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({ choices: [{ message: { content: 'whole' } }] });
  });

  it('should answer a scripted error status, streaming or not', async () => {
    model.script(() => ({ status: 503, body: { error: { message: 'overloaded' } } }));

    for (const stream of [false, true]) {
      const response = await post({ messages: [], stream });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: { message: 'overloaded' } });
    }
  });

  it('should cut the connection mid-stream when scripted to', async () => {
    model.script(() => ({ content: 'a long answer that never ends', dropAfterChunks: 2, chunkDelayMs: 5 }));

    const response = await post({ messages: [], stream: true });

    await expect(response.text()).rejects.toThrow();
  });

  it('should answer 404 for other paths', async () => {
    expect((await fetch(`${model.url}/v1/models`)).status).toBe(404);
  });
});
