import type { LogLevel } from '@skreaver/config';

import { JsonLogger } from './json-logger';

interface LogEntry {
  timestamp: string;
  level: string;
  target: string;
  fields: Record<string, unknown>;
}

function newTestLogger(level: LogLevel = 'trace') {
  const lines: string[] = [];
  const sut = new JsonLogger('skreaver_test', level, (line) => lines.push(line));
  const entries = (): LogEntry[] => lines.map((line) => JSON.parse(line) as LogEntry);
  return { sut, lines, entries };
}

describe(JsonLogger.name, () => {
  describe('write', () => {
    it('should write one JSON object per line in the runbook format', () => {
      const { sut, lines, entries } = newTestLogger();

      sut.write('info', 'Request processed', { status: 200 });

      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^\{.*\}\n$/);
      expect(entries()[0]).toEqual({
        timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        level: 'INFO',
        target: 'skreaver_test',
        fields: { message: 'Request processed', status: 200 },
      });
    });

    it('should keep a multi-line message on one line', () => {
      const { sut, lines, entries } = newTestLogger();

      sut.write('warn', 'first\nsecond');

      expect(lines[0]?.split('\n')).toEqual([expect.any(String), '']);
      expect(entries()[0]?.fields['message']).toBe('first\nsecond');
    });

    it('should append the context to the target', () => {
      const { sut, entries } = newTestLogger();

      sut.write('info', 'Listening', {}, 'bootstrap');

      expect(entries()[0]?.target).toBe('skreaver_test::bootstrap');
    });

    it.each<[LogLevel, string]>([
      ['trace', 'TRACE'],
      ['debug', 'DEBUG'],
      ['info', 'INFO'],
      ['warn', 'WARN'],
      ['error', 'ERROR'],
    ])('should write the level %s as %s', (level, expected) => {
      const { sut, entries } = newTestLogger();

      sut.write(level, 'x');

      expect(entries()[0]?.level).toBe(expected);
    });

    it('should drop entries below the threshold', () => {
      const { sut, entries } = newTestLogger('warn');

      for (const level of ['trace', 'debug', 'info', 'warn', 'error'] as const) sut.write(level, level);

      expect(entries().map((entry) => entry.fields['message'])).toEqual(['warn', 'error']);
    });

    it('should default the threshold to info', () => {
      const lines: string[] = [];
      const sut = new JsonLogger('t', undefined, (line) => lines.push(line));

      sut.write('debug', 'hidden');
      sut.write('info', 'shown');

      expect(lines).toHaveLength(1);
    });

    it('should follow setLevel', () => {
      const { sut, lines } = newTestLogger('error');

      sut.setLevel('debug');
      sut.write('debug', 'now visible');

      expect(lines).toHaveLength(1);
      expect(sut.isEnabled('trace')).toBe(false);
      expect(sut.isEnabled('debug')).toBe(true);
    });

    it.each(['authorization', 'Authorization', 'password', 'db_password', 'token', 'access_token', 'api_key', 'apiKey', 'x-api-key', 'client_secret', 'cookie'])(
      'should redact the field %s',
      (key) => {
        const { sut, lines, entries } = newTestLogger();

        sut.write('info', 'call', { [key]: 'hunter2', user: 'ada' });

        expect(lines[0]).not.toContain('hunter2');
        expect(entries()[0]?.fields).toEqual({ message: 'call', [key]: '[redacted]', user: 'ada' });
      },
    );

    it('should add the request id, agent id and subject of the request context it is given', () => {
      const { sut, entries } = newTestLogger();

      sut.write('info', 'inside', { status: 200 }, undefined, { requestId: 'req-1', agentId: 'agent-7', subject: 'key:abc' });
      sut.write('info', 'outside');

      expect(entries()[0]?.fields).toEqual({ status: 200, message: 'inside', request_id: 'req-1', agent_id: 'agent-7', subject: 'key:abc' });
      expect(entries()[1]?.fields).toEqual({ message: 'outside' });
    });

    it('should not let caller fields overwrite the request id of the context', () => {
      const { sut, entries } = newTestLogger();

      sut.write('info', 'line', { request_id: 'forged' }, 'http', { requestId: 'req-2' });

      expect(entries()[0]).toMatchObject({ target: expect.stringMatching(/::http$/), fields: { message: 'line', request_id: 'req-2' } });
    });
  });

  describe('Nest logger methods', () => {
    it('should treat the last string argument of log as the context', () => {
      const { sut, entries } = newTestLogger();

      sut.log('Run worker started', 'runs');

      expect(entries()[0]).toMatchObject({
        level: 'INFO',
        target: 'skreaver_test::runs',
        fields: { message: 'Run worker started' },
      });
    });

    it.each(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'WebSocketsController', 'NestFactory', 'NestApplication'])(
      'should log the framework start-up chatter of %s at debug',
      (context) => {
        const atInfo = newTestLogger('info');
        const atDebug = newTestLogger('debug');

        atInfo.sut.log('Mapped {/agents, POST} route', context);
        atDebug.sut.log('Mapped {/agents, POST} route', context);

        expect(atInfo.lines).toEqual([]);
        expect(atDebug.entries()[0]).toMatchObject({ level: 'DEBUG', target: `skreaver_test::${context}` });
      },
    );

    it('should keep warnings and errors of framework contexts at their level', () => {
      const { sut, entries } = newTestLogger('info');

      sut.warn('odd route', 'RouterExplorer');
      sut.error('no module', 'InstanceLoader');

      expect(entries().map((entry) => entry.level)).toEqual(['WARN', 'ERROR']);
    });

    it('should take the stack and the context from error(message, stack, context)', () => {
      const { sut, entries } = newTestLogger();
      const stack = 'Error: boom\n    at handler (app.ts:1:1)';

      sut.error('boom', stack, 'ExceptionsHandler');

      expect(entries()[0]).toMatchObject({
        level: 'ERROR',
        target: 'skreaver_test::ExceptionsHandler',
        fields: { message: 'boom', stack },
      });
    });

    it('should log an Error with its name and stack', () => {
      const { sut, entries } = newTestLogger();
      const error = new TypeError('kaput');

      sut.error(error, 'Worker');

      expect(entries()[0]).toMatchObject({
        level: 'ERROR',
        target: 'skreaver_test::Worker',
        fields: { message: 'kaput', error: 'TypeError', stack: error.stack },
      });
    });

    it('should spread an object message into fields', () => {
      const { sut, entries } = newTestLogger();

      sut.warn({ message: 'slow', elapsed_ms: 1200, token: 'hunter2' });

      expect(entries()[0]).toMatchObject({
        level: 'WARN',
        target: 'skreaver_test',
        fields: { message: 'slow', elapsed_ms: 1200, token: '[redacted]' },
      });
    });

    it('should stringify a primitive message', () => {
      const { sut, entries } = newTestLogger();

      sut.log(42);

      expect(entries()[0]?.fields['message']).toBe('42');
    });

    it('should map debug, verbose and fatal to the debug, trace and error levels', () => {
      const { sut, entries } = newTestLogger();

      sut.debug('d');
      sut.verbose('v');
      sut.fatal('f');

      expect(entries().map((entry) => entry.level)).toEqual(['DEBUG', 'TRACE', 'ERROR']);
    });

    it('should apply the threshold to Nest calls', () => {
      const { sut, lines } = newTestLogger('info');

      sut.debug('hidden', 'Ctx');
      sut.verbose('hidden');

      expect(lines).toEqual([]);
    });
  });
});
