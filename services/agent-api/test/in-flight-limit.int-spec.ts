import { get } from 'node:http';
import type { IncomingMessage } from 'node:http';

import type { Agent, ApiErrorBody, Run } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

const MAX_IN_FLIGHT = 3;

interface OpenStream {
  response: IncomingMessage;
  close(): void;
}

/** A GET whose response is left open; `close()` drops the connection (as a browser leaving the page does). */
function openStream(url: string, headers: Record<string, string>): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers, agent: false }, (response) => resolve({ response, close: () => request.destroy() }));
    request.on('error', reject);
  });
}

// No mesh-coordinator runs here, so a run stays queued: `?wait=` holds a request open for exactly that long, and
// an event stream of the run stays open until the client leaves.
describe('the in-flight request cap', () => {
  let api: BootedAgentApi;
  let agent: Agent;

  beforeAll(async () => {
    api = await bootAgentApi('sqlite', { SKREAVER_MAX_IN_FLIGHT: String(MAX_IN_FLIGHT) });
    agent = (await api.request<Agent>('POST', '/agents', { token: api.adminToken, body: { name: 'held', kind: 'echo', concurrency: { policy: 'parallel', max_concurrency: 10 } } })).body;
  });

  afterAll(async () => {
    await api?.close();
  });

  const inFlight = async () => {
    const text = String((await api.request('GET', '/metrics')).body);
    return Number(/^skreaver_http_requests_in_flight (\d+)/m.exec(text)?.[1] ?? NaN);
  };

  it('should answer 503 overloaded with Retry-After: 1 beyond the cap, keep answering probes, and recover', async () => {
    const held = Array.from({ length: MAX_IN_FLIGHT }, (_, n) =>
      api.request<Run>('POST', `/agents/${agent.id}/runs?wait=1.5`, { token: api.adminToken, body: { input: n } }),
    );
    await waitFor(async () => (await inFlight()) === MAX_IN_FLIGHT, { what: `${MAX_IN_FLIGHT} requests in flight` });

    const refused = await api.request<ApiErrorBody>('GET', '/agents', { token: api.adminToken });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: 'overloaded', message: expect.any(String), request_id: refused.headers.get('x-request-id') });
    expect(refused.headers.get('retry-after')).toBe('1');
    for (const probe of ['/health', '/ready', '/metrics']) expect((await api.request('GET', probe)).status).toBe(200);

    expect((await Promise.all(held)).map((answer) => answer.status)).toEqual([202, 202, 202]);
    expect(await inFlight()).toBe(0);
    expect((await api.request('GET', '/agents', { token: api.adminToken })).status).toBe(200);
  });

  it('should count an event stream only until its headers are sent', async () => {
    const run = (await api.request<Run>('POST', `/agents/${agent.id}/runs`, { token: api.adminToken, body: { input: 'stream' } })).body;
    const streams: OpenStream[] = [];
    try {
      // One after the other: each holds a slot only until its head is out, so more streams than slots stay open.
      for (let n = 0; n <= MAX_IN_FLIGHT; n += 1) {
        streams.push(await openStream(`${api.url}/runs/${run.id}/events`, { authorization: `Bearer ${api.adminToken}`, accept: 'text/event-stream' }));
      }
      expect(streams.map((stream) => stream.response.headers['content-type'])).toEqual(streams.map(() => 'text/event-stream; charset=utf-8'));
      // Streams carry the rate-limit headers too, although their handler writes its own head.
      expect(streams[0]?.response.headers['ratelimit-limit']).toBe('600');

      expect(await inFlight()).toBe(0);
      expect((await api.request('GET', '/agents', { token: api.adminToken })).status).toBe(200);
    } finally {
      for (const stream of streams) stream.close();
    }
  });
});
