import type { RunEventV1 } from '@skreaver/contracts';
import { WsCloseCode } from '@skreaver/contracts';
import { SkreaverClient } from '@skreaver/sdk';
import type { SocketIoFactory, StreamState } from '@skreaver/sdk';
import { startTcpProxy, waitFor } from '@skreaver/testing';
import type { TcpProxy } from '@skreaver/testing';
import { newId } from '@skreaver/util';
import { io } from 'socket.io-client';

import { appendAll, bootGateway, connectIo, createWorld, metricValue, openWs, refusedIo, runEvent } from './gateway.harness';
import type { BootedGateway, GatewayWorld, IoClient } from './gateway.harness';

const ids = (events: readonly RunEventV1[]) => events.map((event) => event.id);
const overloaded = async (gateway: BootedGateway) => metricValue(await gateway.metrics(), 'websocket_connections_failed_total{reason="overloaded"}');

// A replica that handshakes one connection at a time: while one is opening (connected, not yet subscribed), every
// other connection is refused at once with `overloaded`, and a client refused so resumes once the handshake is done.
describe('ws-gateway WEBSOCKET_MAX_PENDING_HANDSHAKES', () => {
  let world: GatewayWorld;
  let gateway: BootedGateway;
  let proxy: TcpProxy;
  let blocker: IoClient | undefined;

  beforeAll(async () => {
    world = await createWorld('gw-handshakes');
    gateway = await bootGateway(world, { WEBSOCKET_MAX_PENDING_HANDSHAKES: '1' });
    proxy = await startTcpProxy(Number(new URL(gateway.url).port));
  });

  afterAll(async () => {
    blocker?.socket.close();
    await proxy?.close();
    await gateway?.close();
    await world?.cleanup();
  });

  it('should refuse connections beyond the handshakes in progress with overloaded, and the SDK resume after them with no event lost', async () => {
    const agent = newId();
    const run = newId();
    const events = Array.from({ length: 20 }, (_, index) => runEvent(agent, run, index + 1));
    const states: StreamState[] = [];
    const received: RunEventV1[] = [];
    const controller = new AbortController();
    const sdk = new SkreaverClient({ baseUrl: 'http://127.0.0.1:9', token: world.token().token, gatewayUrl: proxy.url, io: io as unknown as SocketIoFactory });
    // One refusal in a row would end the watch if busy refusals counted as failures.
    const watch = sdk.agents.watch(agent, { signal: controller.signal, maxReconnects: 1, onState: (state) => states.push(state) });
    const watching = (async () => {
      for await (const event of watch) received.push(event);
    })().catch((error: unknown) => error);
    await waitFor(() => states.includes('live'), { what: 'the subscription' });
    await appendAll(world, events.slice(0, 10));
    await waitFor(() => received.length === 10, { what: 'the first 10 events' });

    // Connected, not subscribed yet: the replica's one handshake in progress.
    blocker = await connectIo(gateway.url, world.token().token);
    const refusedBefore = await overloaded(gateway);
    expect(await refusedIo(gateway.url, world.token().token)).toEqual({ message: 'overloaded', data: { code: 'overloaded', message: expect.any(String) } });
    const ws = await openWs(gateway.url, { token: world.token().token });
    expect(await ws.closed).toEqual({ code: WsCloseCode.tryAgainLater, reason: 'overloaded' });

    // The watch loses its connection; its reconnects are refused (more often than maxReconnects) while events go on.
    proxy.cut();
    await appendAll(world, events.slice(10));
    await waitFor(async () => (await overloaded(gateway)) >= refusedBefore + 4, { what: 'the watch refused twice' });
    expect(received).toHaveLength(10);
    expect(states).toContain('busy');

    // The handshake in progress ends with its first subscription; the watch gets in and resumes after its last event.
    expect(await blocker.subscribe({ agent_id: newId() })).toMatchObject({ ok: true });
    await waitFor(() => received.length >= events.length, { what: 'every event' });
    expect(ids(received)).toEqual(ids(events));
    expect(states.filter((state) => state === 'live')).toHaveLength(2);

    controller.abort(new Error('done watching'));
    expect(await watching).toEqual(new Error('done watching'));
  });
});
