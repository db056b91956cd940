import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AGENTS_NAMESPACE, Streams, runEventId, streamKey } from '@skreaver/contracts';
import type { AckV1, RunEventV1 } from '@skreaver/contracts';
import { createServiceApp } from '@skreaver/http';
import { StreamProducer } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { isolatedRedis, waitFor } from '@skreaver/testing';
import type { IsolatedRedis } from '@skreaver/testing';
import { newId, nowIso } from '@skreaver/util';
import Redis from 'ioredis';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';

import { AppModule } from '../src/app.module';
import { WsGatewayConfig } from '../src/config';
import { WsIoAdapter } from '../src/gateway/ws-io.adapter';

function event(agentId: string, runId: string, seq: number): RunEventV1 {
  return { id: runEventId(runId, seq), run_id: runId, agent_id: agentId, tenant_id: 'default', seq, ts: nowIso(), type: 'run.started', data: { attempt: seq, worker: 'w' } };
}

describe('ws-gateway live events', () => {
  let isolation: IsolatedRedis;
  let app: NestFastifyApplication;
  let url: string;
  let redis: Redis;
  let producer: StreamProducer;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    isolation = isolatedRedis('ws-gateway');
    const config = WsGatewayConfig.load({ REDIS_URL: isolation.url, REDIS_KEY_PREFIX: isolation.prefix, WEBSOCKET_MAX_CONNECTIONS: '5', WS_MAX_MESSAGE_BYTES: '2048' });
    const logger = new JsonLogger('skreaver_ws_gateway', 'warn', () => undefined);
    app = await createServiceApp(AppModule.forRoot(config, logger), { logger });
    app.useWebSocketAdapter(new WsIoAdapter(app, { maxMessageBytes: config.WS_MAX_MESSAGE_BYTES }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    redis = new Redis(isolation.url);
    producer = new StreamProducer(redis, isolation.prefix);
    await waitFor(async () => (await fetch(`${url}/ready`)).ok, { what: 'gateway readiness' });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await app?.close();
    redis?.disconnect();
    await isolation?.cleanup();
  });

  async function connect(): Promise<{ socket: Socket; received: RunEventV1[] }> {
    const socket = io(`${url}${AGENTS_NAMESPACE}`, { transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const received: RunEventV1[] = [];
    socket.on('event', (e: RunEventV1) => received.push(e));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return { socket, received };
  }

  const subscribe = async (socket: Socket, payload: unknown) => (await socket.timeout(5_000).emitWithAck('subscribe', payload)) as AckV1;

  it('should deliver, in order, only the events of the agents and runs a socket subscribed to', async () => {
    const [agentA, agentB, runA, runB, runC] = [newId(), newId(), newId(), newId(), newId()];
    const byAgent = await connect();
    const byRun = await connect();
    expect(await subscribe(byAgent.socket, { agent_id: agentA })).toEqual({ ok: true, room: `agent:${agentA}` });
    expect(await subscribe(byRun.socket, { run_id: runB })).toEqual({ ok: true, room: `run:${runB}` });

    for (let seq = 1; seq <= 50; seq++) {
      await producer.publish(Streams.events, event(agentA, runA, seq));
      await producer.publish(Streams.events, event(agentB, runB, seq));
      await producer.publish(Streams.events, event(agentA, runC, seq));
    }
    await waitFor(() => byAgent.received.length === 100 && byRun.received.length === 50, { what: 'all matching events' });
    expect(byAgent.received.every((e) => e.agent_id === agentA)).toBe(true);
    expect(byAgent.received.filter((e) => e.run_id === runA).map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(byRun.received.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('should deliver an event once to a socket subscribed to both its agent and its run', async () => {
    const [agent, run] = [newId(), newId()];
    const both = await connect();
    await subscribe(both.socket, { agent_id: agent });
    await subscribe(both.socket, { run_id: run });
    await producer.publish(Streams.events, event(agent, run, 1));
    await producer.publish(Streams.events, event(agent, run, 2));
    await waitFor(() => both.received.length >= 2, { what: 'events' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(both.received.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('should skip a stream entry that breaks the contract and keep delivering', async () => {
    const agent = newId();
    const client = await connect();
    await subscribe(client.socket, { agent_id: agent });
    await redis.xadd(streamKey(Streams.events, isolation.prefix), '*', 'data', '{"not":"an event"}');
    await producer.publish(Streams.events, event(agent, newId(), 1));
    await waitFor(() => client.received.length === 1, { what: 'the valid event after the invalid one' });
  });

  it('should answer invalid subscriptions with an error ack, keep the connection, and stop after unsubscribe', async () => {
    const agent = newId();
    const client = await connect();
    for (const bad of [{}, { agent_id: 'x' }, { agent_id: agent, run_id: agent }, 'text', null]) {
      expect(await subscribe(client.socket, bad)).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    }
    expect(client.socket.connected).toBe(true);
    await subscribe(client.socket, { agent_id: agent });
    expect(await client.socket.timeout(5_000).emitWithAck('unsubscribe', { agent_id: agent })).toEqual({ ok: true, room: `agent:${agent}` });
    await producer.publish(Streams.events, event(agent, newId(), 1));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.received).toEqual([]);
  });

  it('should refuse connections beyond WEBSOCKET_MAX_CONNECTIONS and count them', async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await waitFor(async () => /websocket_connections_active 0/.test(await (await fetch(`${url}/metrics`)).text()), { what: 'connections to close' });
    const open = await Promise.all(Array.from({ length: 5 }, () => connect()));
    const refused = io(`${url}${AGENTS_NAMESPACE}`, { transports: ['websocket'], reconnection: false });
    sockets.push(refused);
    const reason = await new Promise<string>((resolve) => refused.on('disconnect', resolve));
    expect(reason).toBe('io server disconnect');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/websocket_connections_failed_total\{reason="max_connections"\} 1/);
    expect(metrics).toMatch(/websocket_connections_active 5/);
    expect(open.every(({ socket }) => socket.connected)).toBe(true);
  });
});
