import { Streams, streamKey } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { bootGateway, connectIo, createWorld, metricValue, openWs, runEvent } from './gateway.harness';
import type { BootedGateway, GatewayWorld, IoClient, WsClient } from './gateway.harness';

const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe('ws-gateway live events', () => {
  let world: GatewayWorld;
  let gateway: BootedGateway;
  const ioClients: IoClient[] = [];
  const wsClients: WsClient[] = [];

  beforeAll(async () => {
    world = await createWorld('gw-live');
    gateway = await bootGateway(world);
  });

  afterAll(async () => {
    for (const client of ioClients) client.socket.close();
    for (const client of wsClients) client.ws.terminate();
    await gateway?.close();
    await world?.cleanup();
  });

  const io = async (token = world.token().token) => {
    const client = await connectIo(gateway.url, token);
    ioClients.push(client);
    return client;
  };
  const ws = async (token = world.token().token) => {
    const client = await openWs(gateway.url, { token });
    wsClients.push(client);
    return client;
  };

  it('should deliver, in order, only the events of the agents and runs a client subscribed to, on both transports', async () => {
    const [agentA, agentB, runA, runB, runC] = [newId(), newId(), newId(), newId(), newId()];
    const byAgent = await io();
    const byRun = await ws();
    expect(await byAgent.subscribe({ agent_id: agentA })).toEqual({ ok: true, room: `t:default:agent:${agentA}` });
    expect(await byRun.request({ type: 'subscribe', run_id: runB })).toMatchObject({ type: 'ack', ok: true, room: `t:default:run:${runB}` });

    for (let seq = 1; seq <= 50; seq++) {
      await world.producer.publish(Streams.events, runEvent(agentA, runA, seq));
      await world.producer.publish(Streams.events, runEvent(agentB, runB, seq));
      await world.producer.publish(Streams.events, runEvent(agentA, runC, seq));
    }
    await waitFor(() => byAgent.events.length === 100 && byRun.events().length === 50, { what: 'all matching events' });
    expect(byAgent.events.every((e) => e.agent_id === agentA)).toBe(true);
    expect(byAgent.events.filter((e) => e.run_id === runA).map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(byRun.events().map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("should never deliver another tenant's events, whatever ids the client subscribes to", async () => {
    const [agent, run] = [newId(), newId()];
    const acme = await io(world.token({ tenant: 'acme' }).token);
    const mine = await ws(world.token({ tenant: 'default' }).token);
    expect(await acme.subscribe({ agent_id: agent })).toEqual({ ok: true, room: `t:acme:agent:${agent}` });
    await acme.subscribe({ run_id: run });
    await mine.request({ type: 'subscribe', agent_id: agent });
    await world.producer.publish(Streams.events, runEvent(agent, run, 1, { tenant_id: 'default' }));
    await world.producer.publish(Streams.events, runEvent(agent, run, 2, { tenant_id: 'acme' }));
    await waitFor(() => acme.events.length === 1 && mine.events().length === 1, { what: 'each tenant its event' });
    await settle();
    expect(acme.events.map((e) => [e.tenant_id, e.seq])).toEqual([['acme', 2]]);
    expect(mine.events().map((e) => [e.tenant_id, e.seq])).toEqual([['default', 1]]);
  });

  it('should let a viewer watch, and deliver an event once to a client subscribed to both its agent and its run', async () => {
    const [agent, run] = [newId(), newId()];
    const both = await io(world.token({ role: 'viewer' }).token);
    await both.subscribe({ agent_id: agent });
    await both.subscribe({ run_id: run });
    await world.producer.publish(Streams.events, runEvent(agent, run, 1));
    await world.producer.publish(Streams.events, runEvent(agent, run, 2));
    await waitFor(() => both.events.length >= 2, { what: 'events' });
    await settle();
    expect(both.events.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('should skip a stream entry that breaks the contract and keep delivering', async () => {
    const agent = newId();
    const client = await io();
    await client.subscribe({ agent_id: agent });
    await world.client.xadd(streamKey(Streams.events, world.redis.prefix), '*', 'data', '{"not":"an event"}');
    await world.producer.publish(Streams.events, runEvent(agent, newId(), 1));
    await waitFor(() => client.events.length === 1, { what: 'the valid event after the invalid one' });
  });

  it('should answer invalid subscriptions with an error ack, keep the connection, and stop after unsubscribe', async () => {
    const agent = newId();
    const client = await io();
    for (const bad of [{}, { agent_id: 'x' }, { agent_id: agent, run_id: agent }, 'text', null, { run_id: agent, after: `${newId()}:1` }, { topic: '../x' }]) {
      expect(await client.subscribe(bad)).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    }
    expect(client.socket.connected).toBe(true);
    await client.subscribe({ agent_id: agent });
    expect(await client.socket.timeout(5_000).emitWithAck('unsubscribe', { agent_id: agent })).toEqual({ ok: true, room: `t:default:agent:${agent}` });
    await world.producer.publish(Streams.events, runEvent(agent, newId(), 1));
    await settle();
    expect(client.events).toEqual([]);
  });

  it('should accept topic subscriptions (for the mesh) and answer ping with pong on both transports', async () => {
    const client = await io();
    expect(await client.subscribe({ topic: 'alerts.high' })).toEqual({ ok: true, room: 't:default:topic:alerts.high' });
    const pong = new Promise((resolve) => client.socket.once('pong', resolve));
    const acked: unknown = await client.socket.timeout(5_000).emitWithAck('ping');
    expect(acked).toEqual({ ts: expect.any(String) });
    await expect(pong).resolves.toEqual({ ts: expect.any(String) });

    const plain = await ws();
    expect(await plain.request({ type: 'ping' })).toEqual({ type: 'pong', id: expect.any(String), ts: expect.any(String) });
    expect(await plain.request({ type: 'subscribe', topic: 'alerts.high' })).toMatchObject({ ok: true, room: 't:default:topic:alerts.high' });
    expect(await plain.request({ type: 'unsubscribe', topic: 'alerts.high' })).toMatchObject({ ok: true });
  });

  it('should export the runbook metrics, with delivery latency', async () => {
    const text = await gateway.metrics();
    for (const name of [
      'websocket_connections_active',
      'websocket_connections_total',
      'websocket_messages_sent_total',
      'websocket_messages_received_total',
      'websocket_subscriptions_active',
      'websocket_event_delivery_seconds_count',
    ]) {
      expect(text).toContain(name);
    }
    expect(metricValue(text, 'websocket_connections_active')).toBeGreaterThanOrEqual(ioClients.length + wsClients.length);
    expect(metricValue(text, 'websocket_event_delivery_seconds_count')).toBeGreaterThan(0);
    expect(metricValue(text, 'websocket_subscriptions_active')).toBeGreaterThan(0);
    const ready = (await (await fetch(`${gateway.url}/ready`)).json()) as { checks: Record<string, { status: string }> };
    expect(Object.keys(ready.checks).sort()).toEqual(['database', 'event_stream', 'redis', 'socket_io', 'websocket']);
  });
});
