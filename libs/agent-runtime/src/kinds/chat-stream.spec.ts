import { ChatStreamAssembler, ChatStreamError, SseDataParser } from './chat-stream';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe(SseDataParser.name, () => {
  it('should yield the data of each event as its blank line arrives', () => {
    const parser = new SseDataParser();

    expect(parser.push(bytes('data: {"a":1}\n\ndata: {"b"'))).toEqual(['{"a":1}']);
    expect(parser.push(bytes(':2}\n'))).toEqual([]);
    expect(parser.push(bytes('\n'))).toEqual(['{"b":2}']);
    expect(parser.end()).toEqual([]);
  });

  it('should accept CRLF and CR line ends, also a CRLF split between chunks', () => {
    const parser = new SseDataParser();

    expect(parser.push(bytes('data: one\r'))).toEqual([]);
    expect(parser.push(bytes('\n\r\ndata: two\r\rdata: three\n\n'))).toEqual(['one', 'two', 'three']);
  });

  it('should join multi-line data with LF, strip one leading space, and ignore comments and other fields', () => {
    const parser = new SseDataParser();

    expect(parser.push(bytes(': keep-alive\nevent: chunk\nid: 7\nretry: 10\ndata:first\ndata:  second\n\n'))).toEqual(['first\n second']);
  });

  it('should decode UTF-8 characters split between chunks', () => {
    const parser = new SseDataParser();
    const encoded = bytes('data: héllo 👋\n\n');

    const events = [...parser.push(encoded.subarray(0, 8)), ...parser.push(encoded.subarray(8, 15)), ...parser.push(encoded.subarray(15))];

    expect(events).toEqual(['héllo 👋']);
  });

  it('should yield a last event left without its blank line when the stream ends', () => {
    const parser = new SseDataParser();

    expect(parser.push(bytes('data: [DONE]'))).toEqual([]);
    expect(parser.end()).toEqual(['[DONE]']);
  });

  it('should skip events without data', () => {
    expect(new SseDataParser().push(bytes('event: ping\n\n\n\ndata: x\n\n'))).toEqual(['x']);
  });
});

describe(ChatStreamAssembler.name, () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] });

  it('should return each content delta and assemble the reply with usage', () => {
    const assembler = new ChatStreamAssembler();

    const texts = [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      JSON.stringify({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }),
      '[DONE]',
    ].map((data) => assembler.apply(data));

    expect(texts).toEqual(['', 'Hel', 'lo', '', '', '']);
    expect(assembler.complete).toBe(true);
    expect(assembler.reply()).toEqual({ content: 'Hello', tool_calls: [], usage: { prompt_tokens: 5, completion_tokens: 2 } });
  });

  it('should assemble tool calls by index from interleaved deltas', () => {
    const assembler = new ChatStreamAssembler();
    const call = (index: number, fn: Record<string, unknown>, id?: string) => chunk({ tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }] });

    for (const data of [
      call(1, { name: 'time', arguments: '' }, 'b'),
      call(0, { name: 'math', arguments: '{"expr' }, 'a'),
      call(1, { arguments: '{}' }),
      call(0, { arguments: 'ession":"1+1"}' }),
      chunk({}, 'tool_calls'),
    ]) {
      assembler.apply(data);
    }

    expect(assembler.reply()).toEqual({
      content: null,
      tool_calls: [
        { id: 'a', type: 'function', function: { name: 'math', arguments: '{"expression":"1+1"}' } },
        { id: 'b', type: 'function', function: { name: 'time', arguments: '{}' } },
      ],
    });
  });

  it('should not count a stream as complete before a finish_reason or [DONE]', () => {
    const assembler = new ChatStreamAssembler();

    assembler.apply(chunk({ content: 'half' }));

    expect(assembler.complete).toBe(false);
  });

  it('should give a tool call without an id one from its index', () => {
    const assembler = new ChatStreamAssembler();
    assembler.apply(chunk({ tool_calls: [{ index: 0, function: { name: 'math', arguments: '{}' } }] }, 'tool_calls'));

    expect(assembler.reply().tool_calls[0]?.id).toBe('call_0');
  });

  it.each([
    ['data that is not JSON', 'nope', false],
    ['a chunk of the wrong shape', JSON.stringify({ choices: 'x' }), false],
    ['an error event', JSON.stringify({ error: { message: 'overloaded' } }), true],
  ])('should refuse %s', (_label, data, reported) => {
    const assembler = new ChatStreamAssembler();

    expect(() => assembler.apply(data)).toThrow(ChatStreamError);
    expect(() => assembler.apply(data)).toThrow(expect.objectContaining({ reported }));
  });

  it('should refuse a tool call that never got a name', () => {
    const assembler = new ChatStreamAssembler();
    assembler.apply(chunk({ tool_calls: [{ index: 0, id: 'a', function: { arguments: '{}' } }] }, 'tool_calls'));

    expect(() => assembler.reply()).toThrow(/no function name/);
  });
});
