import fc from 'fast-check';

import { SseParser } from './sse';

const STREAM = ': keep-alive\n\nid: r:1\nevent: run.queued\ndata: {"a":1}\n\nid: r:2\ndata: line one\ndata: line two\n\nretry: 500\ndata:no space\n\n';

describe('SseParser', () => {
  it('should parse ids, types, multi-line data, retry and count comments', () => {
    const parser = new SseParser();
    expect(parser.push(STREAM)).toEqual([
      { id: 'r:1', event: 'run.queued', data: '{"a":1}' },
      { id: 'r:2', data: 'line one\nline two' },
      { retry: 500, data: 'no space' },
    ]);
    expect(parser.comments).toBe(1);
  });

  it('should read CRLF and CR line ends like LF, a CRLF split across chunks included', () => {
    const crlf = new SseParser();
    expect([...crlf.push('id: 1\r'), ...crlf.push('\ndata: x\r\n\r\n')]).toEqual([{ id: '1', data: 'x' }]);
    expect(new SseParser().push('data: y\r\r')).toEqual([{ data: 'y' }]);
  });

  it('should hold an unfinished event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('data: half')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ data: 'half' }]);
  });

  it('should yield the same events however the stream is split into chunks', () => {
    const whole = new SseParser().push(STREAM);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: STREAM.length }), { maxLength: 12 }), (cuts) => {
        const points = [0, ...[...new Set(cuts)].sort((a, b) => a - b), STREAM.length];
        const parser = new SseParser();
        const events = points.slice(1).flatMap((end, index) => parser.push(STREAM.slice(points[index], end)));
        expect(events).toEqual(whole);
      }),
    );
  });
});
