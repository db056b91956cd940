import { AGENTS_NAMESPACE } from '@skreaver/contracts';
import type { AckV1, Agent, ApiErrorBody, Run, RunEventV1, RunEventsPage } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

// The README walkthrough, against the three built services running as processes, with two gateway replicas.
// agent-api calls go out as the stack's bootstrap admin: `call()` sends its token unless told otherwise.
describe('agent lifecycle', () => {
  let stack: Stack;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    stack = await startStack({ gateways: 2 });
  }, 60_000);

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await stack?.stop();
  }, 30_000);

  async function subscribedSocket(gatewayUrl: string, agentId: string): Promise<{ socket: Socket; events: RunEventV1[] }> {
    const socket = io(`${gatewayUrl}${AGENTS_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: stack.adminToken } });
    sockets.push(socket);
    const events: RunEventV1[] = [];
    socket.on('event', (event: RunEventV1) => events.push(event));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const ack = (await socket.timeout(5_000).emitWithAck('subscribe', { agent_id: agentId })) as AckV1;
    expect(ack).toEqual({ ok: true, room: `t:default:agent:${agentId}` });
    return { socket, events };
  }

  it('should refuse agent-api calls without credentials and accept a token exchanged for the admin key', async () => {
    const anonymous = await call<ApiErrorBody>(stack.api.url, 'GET', '/agents', undefined, { anonymous: true });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="skreaver"');
    expect(anonymous.body).toMatchObject({ error: 'unauthorized', details: { reason: 'missing' } });

    const token = await stack.token();
    const listed = await call(stack.api.url, 'GET', '/agents', undefined, { headers: { authorization: `Bearer ${token}` } });
    expect(listed.status).toBe(200);
    const [header, payload, signature = ''] = token.split('.');
    const tampered = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    const forged = await call(stack.api.url, 'GET', '/agents', undefined, { headers: { authorization: `Bearer ${tampered}` } });
    expect(forged.status).toBe(401);
  });

  it('should run an echo agent end to end and push its events to subscribers on every gateway replica', async () => {
    const created = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'greeter', kind: 'echo', config: {} });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'greeter', kind: 'echo', status: 'idle', tenant_id: 'default' });
    const agent = created.body;

    const watchers = await Promise.all(stack.gateways.map((gateway) => subscribedSocket(gateway.url, agent.id)));

    const input = { message: 'hello', nested: [1, 2, { deep: true }], nothing: null };
    const accepted = await call<Run>(stack.api.url, 'POST', `/agents/${agent.id}/runs`, { input });
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ agent_id: agent.id, status: 'queued', input });
    const runId = accepted.body.id;

    for (const { events } of watchers) {
      await waitFor(() => events.length >= 3, { timeoutMs: 10_000, what: 'three events on the socket' });
      expect(events.map((e) => [e.type, e.seq, e.run_id])).toEqual([
        ['run.queued', 1, runId],
        ['run.started', 2, runId],
        ['run.completed', 3, runId],
      ]);
      expect(events[2]?.data).toMatchObject({ output: input });
    }

    const run = await waitFor(
      async () => {
        const response = await call<Run>(stack.api.url, 'GET', `/runs/${runId}`);
        return response.body.status === 'completed' ? response.body : undefined;
      },
      { what: 'the run to be stored as completed' },
    );
    expect(run).toMatchObject({ status: 'completed', output: input, error: null, attempts: 1 });
    expect(run.finished_at).not.toBeNull();

    const page = await call<RunEventsPage>(stack.api.url, 'GET', `/runs/${runId}/events`);
    expect(page.status).toBe(200);
    expect(page.body.items.map((e) => e.type)).toEqual(['run.queued', 'run.started', 'run.completed']);
    expect(page.body.items.map((e) => e.id)).toEqual([`${runId}:1`, `${runId}:2`, `${runId}:3`]);

    const after = await call<RunEventsPage>(stack.api.url, 'GET', `/runs/${runId}/events?after=${runId}:1`);
    expect(after.body.items.map((e) => e.seq)).toEqual([2, 3]);

    const runs = await call<{ items: Run[] }>(stack.api.url, 'GET', `/agents/${agent.id}/runs`);
    expect(runs.body.items.map((r) => r.id)).toEqual([runId]);
  });

  it('should answer bad input with a stable error code and a request id, never a stack trace', async () => {
    const badKind = await call<ApiErrorBody>(stack.api.url, 'POST', '/agents', { name: 'x', kind: 'nope' });
    expect(badKind.status).toBe(400);
    expect(badKind.body).toMatchObject({ error: 'validation_failed', details: [expect.objectContaining({ path: 'kind' })] });
    expect(badKind.body.request_id).toBe(badKind.headers.get('x-request-id'));

    const malformed = await call<ApiErrorBody>(stack.api.url, 'POST', '/agents', undefined, { raw: '{"name": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('invalid_json');

    const missing = await call<ApiErrorBody>(stack.api.url, 'GET', '/agents/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');

    const notUuid = await call<ApiErrorBody>(stack.api.url, 'POST', '/agents/not-a-uuid/runs', { input: 1 });
    expect(notUuid.status).toBe(400);

    const noRoute = await call<ApiErrorBody>(stack.api.url, 'GET', '/nowhere');
    expect(noRoute.status).toBe(404);
    expect(noRoute.body.error).toBe('not_found');

    for (const response of [badKind, malformed, missing, notUuid, noRoute]) {
      expect(JSON.stringify(response.body)).not.toMatch(/at .*\.(js|ts):\d+/);
    }
    // Still serving after all of that.
    expect((await fetch(`${stack.api.url}/health`)).status).toBe(200);
  });

  it('should refuse an invalid subscription with an error ack and keep the connection', async () => {
    const [gateway] = stack.gateways;
    const socket = io(`${gateway?.url}${AGENTS_NAMESPACE}`, { transports: ['websocket'], reconnection: false, auth: { token: stack.adminToken } });
    sockets.push(socket);
    const ack = (await socket.timeout(5_000).emitWithAck('subscribe', { agent_id: 'not-a-uuid' })) as AckV1;
    expect(ack).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(socket.connected).toBe(true);
  });

  it('should expose health, readiness with per-dependency latency, and Prometheus metrics on every service', async () => {
    for (const service of stack.all()) {
      const health = await call(service.url, 'GET', '/health');
      expect(health.status).toBe(200);
      const ready = await call<{ status: string; checks: Record<string, { status: string; latency_ms: number }> }>(service.url, 'GET', '/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.checks['redis']).toMatchObject({ status: 'up', latency_ms: expect.any(Number) });
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toContain('http_request_duration_seconds_bucket');
      expect(metrics).toMatch(/http_requests_total\{method="GET",route="\/ready",status="200"\} \d+/);
    }
    const apiReady = await call<{ checks: Record<string, unknown> }>(stack.api.url, 'GET', '/ready');
    expect(apiReady.body.checks['database']).toMatchObject({ status: 'up' });
  });

  it('should write JSON log lines in the runbook format with request ids', async () => {
    const line = stack.api
      .jsonLogs()
      .find((entry) => {
        const fields = entry['fields'] as Record<string, unknown>;
        return fields['path'] === '/agents' && fields['method'] === 'POST' && entry['level'] === 'INFO';
      });
    expect(line).toMatchObject({
      timestamp: expect.any(String),
      level: 'INFO',
      target: expect.stringContaining('skreaver_agent_api'),
      fields: { message: 'Request processed', method: 'POST', path: '/agents', status: expect.any(Number), duration_ms: expect.any(Number), request_id: expect.any(String) },
    });
    // Credentials never reach a log line.
    const output = stack.all().flatMap((service) => service.output);
    expect(output.filter((text) => text.includes(stack.adminKey) || text.includes(stack.adminToken))).toEqual([]);
  });

  it('should drain and exit 0 on SIGTERM', async () => {
    const exits = await stack.stop();
    expect(exits).toEqual(exits.map((exit) => ({ name: exit.name, code: 0, signal: null })));
    stack = undefined as unknown as Stack;
  }, 30_000);
});
