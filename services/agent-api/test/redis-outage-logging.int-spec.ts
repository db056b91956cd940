import { ApiErrorCode } from '@skreaver/contracts';
import type { Agent, Run } from '@skreaver/contracts';
import { privateRedis, waitFor } from '@skreaver/testing';
import type { PrivateRedis } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

const ERROR_KEYS = new Set(['error', 'message', 'details', 'request_id']);
// Per kind of refused request: enough that a per-request line cannot hide among a constant amount of noise.
const ROUNDS = 5;

interface LogLine {
  level: string;
  target: string;
  fields: { message: string; request_id?: string } & Record<string, unknown>;
}

// An outage is the operator's news (/ready reports it), so each refused request may cost one warning line, never an
// ERROR (which pages people and buries real bugs). Two other warnings are background, not per request, and allowed
// once each: the rate limiter's (at most one every 30 s, whatever the request rate) and each Redis connection's
// error (the same message at most once every 30 s per connection).
describe('agent-api logs while Redis is down', () => {
  let redis: PrivateRedis;
  let api: BootedAgentApi;
  let url: string;
  let logs: string[];

  beforeAll(async () => {
    redis = await privateRedis();
    api = await bootAgentApi('sqlite', {}, { redisUrl: redis.url });
    ({ url, logs } = api);
  });

  // Closing waits for the Redis clients to settle after the restart: past Jest's 5 s on a loaded machine, and past
  // 30 s once beside two other test runs on two cores.
  afterAll(async () => {
    await api?.close();
    await redis?.cleanup();
  }, 60_000);

  const call = (method: string, path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('should write exactly one warning line per refused request and no error line', async () => {
    const withKey = { 'x-api-key': api.adminKey };
    const agent = (await (await call('POST', '/agents', withKey, { name: 'logs', kind: 'echo' })).json()) as Agent;
    const withToken = api.adminHeaders;
    // Queued, not finished: its events are read from the Redis event log.
    const run = (await (await call('POST', `/agents/${agent.id}/runs`, withKey, { input: 0 })).json()) as Run;
    await redis.stop();
    try {
      await refuseAndCheckLogs(agent, run, withKey, withToken);
    } finally {
      // Whatever failed above, Redis comes back: a stopped Redis would keep afterAll's close waiting.
      await redis.start();
    }
    await waitFor(async () => (await fetch(`${url}/ready`)).ok, { timeoutMs: 15_000, what: 'readiness after Redis is back' });
  }, 60_000);

  async function refuseAndCheckLogs(agent: Agent, run: Run, withKey: Record<string, string>, withToken: Record<string, string>) {
    const since = logs.length;

    const refusals: Array<{ what: string; code: string; send: () => Promise<Response> }> = [
      // The token denylist is read from Redis.
      { what: 'GET /agents with a JWT', code: 'redis_unavailable', send: () => call('GET', '/agents', withToken) },
      // A run needs its queue.
      { what: 'POST /agents/:id/runs', code: 'queue_unavailable', send: () => call('POST', `/agents/${agent.id}/runs`, withKey, { input: 1 }) },
      // A mesh message needs its stream.
      { what: 'POST /mesh/messages', code: 'redis_unavailable', send: () => call('POST', '/mesh/messages', withKey, { kind: 'x', to: agent.id }) },
      // A live run's events are in the Redis event log.
      { what: 'GET /runs/:id/events', code: 'redis_unavailable', send: () => call('GET', `/runs/${run.id}/events`, withKey) },
    ];
    const refusedIds: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const refusal of refusals) {
        const response = await refusal.send();
        const body = (await response.json()) as Record<string, unknown>;
        expect({ what: refusal.what, status: response.status, error: body['error'] }).toEqual({ what: refusal.what, status: 503, error: refusal.code });
        expect(Object.keys(body).every((key) => ERROR_KEYS.has(key))).toBe(true);
        expect(ApiErrorCode.safeParse(body['error']).success).toBe(true);
        expect(typeof body['message']).toBe('string');
        expect(body['request_id']).toBe(response.headers.get('x-request-id'));
        refusedIds.push(String(body['request_id']));
      }
    }

    const lines = logs.slice(since).map((line) => JSON.parse(line) as LogLine);
    const summary = (line: LogLine) => `${line.level} ${line.target}: ${line.fields.message}`;
    const warnings = lines.filter((line) => line.level === 'WARN');
    const background = warnings.filter((line) => /::(rate_limit|MessagingModule)$/.test(line.target)).map(summary);
    const perRequest = warnings.filter((line) => !/::(rate_limit|MessagingModule)$/.test(line.target));
    const warningsOf = (id: string) => perRequest.filter((line) => line.fields.request_id === id).map(summary);
    expect({
      errors: lines.filter((line) => line.level === 'ERROR').map(summary),
      repeatedBackground: background.filter((line, index) => background.indexOf(line) !== index),
      notOneWarning: refusedIds.map((id) => ({ id, warnings: warningsOf(id) })).filter(({ warnings: found }) => found.length !== 1),
      unattributed: perRequest.filter((line) => !refusedIds.includes(String(line.fields.request_id))).map(summary),
    }).toEqual({ errors: [], repeatedBackground: [], notOneWarning: [], unattributed: [] });
  }
});
