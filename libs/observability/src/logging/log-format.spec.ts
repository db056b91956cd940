import { JsonLogger } from './json-logger';
import { chooseLogOutput, formatJson, formatPretty } from './log-format';
import type { LogEntry } from './log-format';

// eslint-disable-next-line no-control-regex -- the escape sequence is what the test looks for
const ANSI = /\u001b\[[\d;]*m/;
const entry = (overrides: Partial<LogEntry> = {}): LogEntry => ({
  timestamp: '2026-12-06T14:05:09.123Z',
  level: 'INFO',
  target: 'skreaver_agent_api::bootstrap',
  fields: { message: 'Listening' },
  ...overrides,
});

function prettyLogger(colour: boolean) {
  const lines: string[] = [];
  const sut = new JsonLogger('skreaver_agent_api', 'trace', (line) => lines.push(line), { format: 'pretty', colour });
  return { sut, lines };
}

describe(formatPretty.name, () => {
  it('should write time, level, service, context, message and then the fields, without colour when asked', () => {
    const line = formatPretty(entry({ fields: { port: 8080, host: '0.0.0.0', message: 'Listening' } }), { colour: false });

    expect(line).toBe('14:05:09.123 INFO  agent-api bootstrap: Listening port=8080 host=0.0.0.0\n');
  });

  it('should leave the context out when the target has none', () => {
    expect(formatPretty(entry({ target: 'skreaver_mesh_coordinator' }), { colour: false })).toBe(
      '14:05:09.123 INFO  mesh-coordinator Listening\n',
    );
  });

  it('should colour the level by severity and dim the time when colour is on', () => {
    const info = formatPretty(entry(), { colour: true });
    const error = formatPretty(entry({ level: 'ERROR' }), { colour: true });

    expect(info).toMatch(ANSI);
    expect(info).toContain('\u001b[2m14:05:09.123\u001b[0m');
    expect(info).toContain('\u001b[32mINFO \u001b[0m');
    expect(error).toContain('\u001b[1;31mERROR\u001b[0m');
    // Colour changes the look, never the words.
    expect(info.replace(new RegExp(ANSI.source, 'g'), '')).toBe(formatPretty(entry(), { colour: false }));
  });

  it('should quote values with spaces and write objects as JSON', () => {
    const line = formatPretty(entry({ fields: { message: 'm', reason: 'not ready', details: { a: 1 }, ok: true, none: null } }), { colour: false });

    expect(line).toContain(' reason="not ready" details={"a":1} ok=true none=null');
  });

  it('should write an error stack below the line, indented, and dimmed with colour', () => {
    const stack = 'TypeError: kaput\n    at handler (app.ts:1:1)\n    at run (run.ts:2:2)';
    const fields = { message: 'kaput', error: 'TypeError', stack };

    const plainLines = formatPretty(entry({ level: 'ERROR', fields }), { colour: false }).split('\n');
    const coloured = formatPretty(entry({ level: 'ERROR', fields }), { colour: true });

    expect(plainLines).toEqual([
      '14:05:09.123 ERROR agent-api bootstrap: kaput error=TypeError',
      '    TypeError: kaput',
      '    at handler (app.ts:1:1)',
      '    at run (run.ts:2:2)',
      '',
    ]);
    expect(coloured).toContain('\u001b[2m    at handler (app.ts:1:1)\u001b[0m');
  });

  it('should escape control characters so a logged value cannot drive the terminal', () => {
    const line = formatPretty(entry({ fields: { message: 'agent \u001b[2Jgone\nsecond line', name: '\u001b[31mred' } }), { colour: false });

    expect(line).not.toContain('\u001b');
    expect(line.split('\n')).toHaveLength(2);
    expect(line).toContain('agent \\u001b[2Jgone\\nsecond line');
  });
});

describe('JsonLogger with the pretty format', () => {
  it('should redact secrets exactly as the JSON format does', () => {
    const pretty = prettyLogger(false);
    const json: string[] = [];
    const jsonLogger = new JsonLogger('skreaver_agent_api', 'trace', (line) => json.push(line));

    for (const sut of [pretty.sut, jsonLogger]) sut.write('info', 'call', { authorization: 'Bearer hunter2', nested: { api_key: 'sk_hunter2' }, user: 'ada' });

    expect(pretty.lines.join('')).not.toContain('hunter2');
    expect(pretty.lines[0]).toContain('authorization=[redacted] nested={"api_key":"[redacted]"} user=ada');
    expect((JSON.parse(json[0] ?? '{}') as LogEntry).fields).toMatchObject({ authorization: '[redacted]', nested: { api_key: '[redacted]' } });
  });

  it('should keep the request id', () => {
    const { sut, lines } = prettyLogger(false);

    sut.write('info', 'Request processed', { status: 200 }, undefined, { requestId: 'req-1', agentId: 'agent-7' });

    expect(lines[0]).toMatch(/ agent-api Request processed status=200 request_id=req-1 agent_id=agent-7\n$/);
  });

  it('should take an Error from Nest with its stack below the line', () => {
    const { sut, lines } = prettyLogger(true);
    const error = new TypeError('kaput');

    sut.error(error, 'Worker');

    expect(lines[0]?.split('\n')[0]).toContain('kaput');
    expect(lines[0]?.split('\n').length).toBeGreaterThan(2);
    expect(lines[0]).toContain('\u001b[2m    at ');
  });

  it('should write JSON when no output is given', () => {
    const lines: string[] = [];
    new JsonLogger('t', 'info', (line) => lines.push(line)).write('info', 'x');

    expect(lines[0]).toBe(formatJson(JSON.parse(lines[0] ?? '') as LogEntry));
  });
});

describe(chooseLogOutput.name, () => {
  it.each([
    [undefined, true, {}, { format: 'pretty', colour: true }],
    [undefined, false, {}, { format: 'json', colour: false }],
    [undefined, undefined, {}, { format: 'json', colour: false }],
    ['json', true, {}, { format: 'json', colour: false }],
    ['pretty', false, {}, { format: 'pretty', colour: false }],
    ['pretty', true, {}, { format: 'pretty', colour: true }],
    [undefined, true, { NO_COLOR: '1' }, { format: 'pretty', colour: false }],
    ['pretty', true, { NO_COLOR: '' }, { format: 'pretty', colour: true }],
  ] as const)('LOG_FORMAT=%s on a TTY=%s with %j gives %j', (configured, isTTY, env, expected) => {
    expect(chooseLogOutput(configured, { isTTY }, env)).toEqual(expected);
  });
});
