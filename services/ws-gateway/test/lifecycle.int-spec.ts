import { Streams, WsCloseCode } from '@skreaver/contracts';
import type { ReconnectHintV1 } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { bootGateway, connectIo, createWorld, metricValue, openWs, runEvent } from './gateway.harness';
import type { BootedGateway, GatewayWorld } from './gateway.harness';

describe('ws-gateway heartbeat and graceful shutdown', () => {
  let world: GatewayWorld;
  let gateway: BootedGateway;

  beforeAll(async () => {
    world = await createWorld('gw-lifecycle');
    gateway = await bootGateway(world, { WS_PING_INTERVAL_MS: '200' });
  });

  afterAll(async () => {
    await gateway?.close();
    await world?.cleanup();
  });

  it('should ping /ws clients and drop one that missed two pongs, keeping those that answer', async () => {
    const before = metricValue(await gateway.metrics(), 'websocket_connections_failed_total{reason="heartbeat_timeout"}');
    const answering = await openWs(gateway.url, { token: world.token().token });
    const silent = await openWs(gateway.url, { token: world.token().token, autoPong: false });
    let pings = 0;
    answering.ws.on('ping', () => (pings += 1));
    const started = Date.now();
    expect((await silent.closed).code).toBe(1006);
    const droppedAfter = Date.now() - started;
    await waitFor(() => pings >= 3, { what: 'pings to the answering client' });
    expect(droppedAfter).toBeGreaterThanOrEqual(300);
    expect(droppedAfter).toBeLessThan(2_000);
    expect(answering.ws.readyState).toBe(answering.ws.OPEN);
    expect(metricValue(await gateway.metrics(), 'websocket_connections_failed_total{reason="heartbeat_timeout"}')).toBe(before + 1);
    answering.ws.close();
  });

  it('should tell clients to reconnect on shutdown, so they resume on another replica without loss', async () => {
    const leaving = await bootGateway(world);
    const agent = newId();
    const run = newId();
    const token = world.token().token;
    const io = await connectIo(leaving.url, token);
    const ws = await openWs(leaving.url, { token });
    await io.subscribe({ agent_id: agent });
    await ws.request({ type: 'subscribe', run_id: run });
    for (let seq = 1; seq <= 5; seq++) await world.eventLog.append(runEvent(agent, run, seq));
    await waitFor(() => io.events.length === 5 && ws.events().length === 5, { what: 'the first events' });

    const hint = new Promise<ReconnectHintV1>((resolve) => io.socket.once('reconnect', resolve));
    const gone = new Promise<string>((resolve) => io.socket.once('disconnect', resolve));
    await leaving.close();
    await expect(hint).resolves.toEqual({ reason: 'shutting_down', message: expect.any(String), retry_after_ms: expect.any(Number) });
    // An engine-level close: a socket.io client with reconnection on comes back by itself.
    await expect(gone).resolves.toBe('transport close');
    expect(await ws.closed).toEqual({ code: WsCloseCode.serviceRestart, reason: 'shutting_down' });
    expect(ws.frames.at(-1)).toMatchObject({ type: 'reconnect', reason: 'shutting_down' });

    for (let seq = 6; seq <= 10; seq++) await world.eventLog.append(runEvent(agent, run, seq));
    const ioBack = await connectIo(gateway.url, token);
    const wsBack = await openWs(gateway.url, { token });
    expect(await ioBack.subscribe({ agent_id: agent, after: io.events.at(-1)?.id })).toMatchObject({ ok: true, replayed: 5 });
    expect(await wsBack.request({ type: 'subscribe', run_id: run, after: ws.events().at(-1)?.id })).toMatchObject({ ok: true, replayed: 5 });
    await world.producer.publish(Streams.events, runEvent(agent, run, 11));
    await waitFor(() => ioBack.events.length === 6 && wsBack.events().length === 6, { what: 'the live event after the replay' });
    const seqs = (events: Array<{ seq: number }>) => events.map((e) => e.seq);
    expect([...seqs(io.events), ...seqs(ioBack.events)]).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect([...seqs(ws.events()), ...seqs(wsBack.events())]).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    ioBack.socket.close();
    wsBack.ws.close();
  });
});
