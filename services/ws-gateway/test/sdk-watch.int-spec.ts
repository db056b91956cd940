import type { RunEventV1 } from '@skreaver/contracts';
import { SkreaverClient } from '@skreaver/sdk';
import type { SkreaverClientOptions, SocketIoFactory, StreamState, WebSocketConstructor } from '@skreaver/sdk';
import { startTcpProxy, waitFor } from '@skreaver/testing';
import type { TcpProxy } from '@skreaver/testing';
import { newId } from '@skreaver/util';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';

import { appendAll, bootGateway, createWorld, runEvent } from './gateway.harness';
import type { BootedGateway, GatewayWorld } from './gateway.harness';

const ids = (events: readonly RunEventV1[]) => events.map((event) => event.id);
const portOf = (gateway: BootedGateway) => Number(new URL(gateway.url).port);

// The SDK's agents.watch over /ws, through a proxy standing in for the load balancer in front of two replicas.
// Both transports: the plain WebSocket (`/ws`; Node 20 has no global WebSocket, the ws package's has the same
// surface) and socket.io (`/agents`, with socket.io-client's `io`).
const TRANSPORTS: Array<[string, Partial<SkreaverClientOptions>]> = [
  ['/ws', { WebSocket: WebSocket as unknown as WebSocketConstructor }],
  ['socket.io', { io: io as unknown as SocketIoFactory }],
];

describe.each(TRANSPORTS)('@skreaver/sdk agents.watch against ws-gateway over %s', (_name, transport) => {
  let world: GatewayWorld;
  let replicaA: BootedGateway;
  let replicaB: BootedGateway;
  let proxy: TcpProxy;

  beforeAll(async () => {
    world = await createWorld('sdk-watch');
    [replicaA, replicaB] = await Promise.all([bootGateway(world), bootGateway(world)]);
    proxy = await startTcpProxy(portOf(replicaA));
  });

  afterAll(async () => {
    await proxy?.close();
    await replicaA?.close();
    await replicaB?.close();
    await world?.cleanup();
  });

  it("should yield an agent's events live and, when its replica stops, resume on the other: every event once, in order", async () => {
    const agent = newId();
    const events = [newId(), newId()].flatMap((run) => Array.from({ length: 15 }, (_, index) => runEvent(agent, run, index + 1)));
    const states: StreamState[] = [];
    const received: RunEventV1[] = [];
    const controller = new AbortController();
    const sdk = new SkreaverClient({
      baseUrl: 'http://127.0.0.1:9',
      token: world.token().token,
      gatewayUrl: proxy.url,
      ...transport,
    });
    const watch = sdk.agents.watch(agent, { signal: controller.signal, onState: (state) => states.push(state) });
    const watching = (async () => {
      for await (const event of watch) received.push(event);
    })().catch((error: unknown) => error);

    await waitFor(() => states.includes('live'), { what: 'the subscription' });
    // Another agent's run is not this watch's business.
    await appendAll(world, [...events.slice(0, 10), runEvent(newId(), newId(), 1)]);
    await waitFor(() => received.length === 10, { what: 'the first 10 events' });

    // The balancer sends new connections to B; A stops (it tells its clients to reconnect, then closes).
    proxy.target = portOf(replicaB);
    await replicaA.close();
    await appendAll(world, events.slice(10, 20));
    await waitFor(() => states.filter((state) => state === 'live').length === 2, { what: 'the resumed subscription' });
    await appendAll(world, events.slice(20));
    await waitFor(() => received.length >= events.length, { what: 'every event' });

    expect(ids(received)).toEqual(ids(events));
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    expect(watch.reconnects).toBe(1);
    expect(watch.lastEventId).toBe(events.at(-1)?.id);

    controller.abort(new Error('done watching'));
    expect(await watching).toEqual(new Error('done watching'));
  });
});
