import { parseClientFrame } from './plain-ws-frame.parser';

const parse = (text: string, maxBytes = 1024) => parseClientFrame(text, Buffer.byteLength(text), maxBytes);

describe(parseClientFrame.name, () => {
  it('should split a frame into its type, id and request fields', () => {
    expect(parse('{"type":"subscribe","id":3,"agent_id":"a","after":"b"}')).toEqual({ ok: true, type: 'subscribe', id: 3, body: { agent_id: 'a', after: 'b' } });
    expect(parse('{"type":"ping"}')).toEqual({ ok: true, type: 'ping', body: {} });
  });

  it.each([
    ['an oversized frame', 'x'.repeat(2000), 'message_too_large'],
    ['text that is not JSON', 'hello', 'invalid_json'],
    ['JSON that is not an object', '"subscribe"', 'invalid_json'],
    ['an array', '[{"type":"ping"}]', 'invalid_json'],
    ['null', 'null', 'invalid_json'],
    ['a missing type', '{"agent_id":"a"}', 'validation_failed'],
    ['an id that is an object', '{"type":"ping","id":{}}', 'validation_failed'],
    ['an unknown type', '{"type":"publish"}', 'unknown_type'],
  ])('should refuse %s with a stable code', (_label, text, code) => {
    expect(parse(text)).toMatchObject({ ok: false, error: { code } });
  });

  it('should keep the id of a refused frame when it could read one', () => {
    expect(parse('{"type":"publish","id":"x1"}')).toMatchObject({ ok: false, id: 'x1' });
  });
});
