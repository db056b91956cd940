import { AGENTS_NAMESPACE } from '@skreaver/contracts';
import { arrivals, waitFor } from '@skreaver/testing';
import { io } from 'socket.io-client';
import { WebSocket } from 'ws';

import { bootGateway, connectIo, createWorld, metricValue, refusedIo } from './gateway.harness';
import type { BootedGateway, GatewayWorld, IoClient } from './gateway.harness';

/** An engine.io connection spoken by hand (WebSocket transport): the packets it received and whether it is open. */
interface RawEngine {
  ws: WebSocket;
  packets: string[];
  open(): boolean;
  closed: Promise<void>;
  send(packet: string): void;
  /** Resolves with the first packet (received from now on, or already) starting with `prefix`. */
  next(prefix: string): Promise<string>;
}

/** Opens an engine.io connection and waits for its open packet (or for the server to close it). */
async function rawEngine(url: string): Promise<RawEngine> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const packets = arrivals<string>();
  ws.on('message', (data: Buffer) => {
    const packet = data.toString('utf8');
    // Engine.io pings ("2") must be answered, or the server drops the connection as a heartbeat failure.
    if (packet === '2') ws.send('3');
    packets.push(packet);
  });
  ws.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await Promise.race([new Promise<void>((resolve) => ws.once('message', () => resolve())), closed]);
  return {
    ws,
    packets: packets.items,
    open: () => ws.readyState === ws.OPEN,
    closed,
    send: (packet) => ws.send(packet),
    next: (prefix) => packets.next((packet) => packet.startsWith(prefix), `packet starting with ${prefix}`),
  };
}

/** The data of a socket.io CONNECT_ERROR packet (`44<nsp>,{…}`). */
function connectErrorOf(packet: string): unknown {
  return JSON.parse(packet.slice(packet.indexOf('{')));
}

describe('ws-gateway socket.io admission (namespaces, engine-level limits)', () => {
  const PER_ADDRESS = 100;
  let world: GatewayWorld;
  let gateway: BootedGateway;
  let engines: RawEngine[] = [];
  let clients: IoClient[] = [];

  beforeAll(async () => {
    world = await createWorld('gw-sio-admission');
    // The defaults: WS_MAX_CONNECTIONS_PER_IP=100, and every test connection comes from 127.0.0.1.
    gateway = await bootGateway(world);
  });

  afterEach(async () => {
    for (const engine of engines) engine.ws.terminate();
    for (const client of clients) client.socket.close();
    await Promise.all(engines.map((engine) => engine.closed));
    engines = [];
    clients = [];
    // The gateway sees the closes a moment later: wait until the address has a slot again.
    const probe = await waitFor(async () => connectIo(gateway.url, world.token().token).catch(() => undefined), { what: 'the slots to be given back' });
    probe.socket.close();
  });

  afterAll(async () => {
    await gateway?.close();
    await world?.cleanup();
  });

  const raw = async () => {
    const engine = await rawEngine(gateway.url);
    engines.push(engine);
    return engine;
  };
  const refusedCount = async (reason: string) => metricValue(await gateway.metrics(), `websocket_connections_failed_total{reason="${reason}"}`);
  const connectTo = (namespace: string, options: { token?: string; transport: 'websocket' | 'polling' }) =>
    new Promise<{ message: string; data: unknown }>((resolve, reject) => {
      const socket = io(`${gateway.url}${namespace}`, {
        transports: [options.transport],
        reconnection: false,
        forceNew: true,
        ...(options.token === undefined ? {} : { auth: { token: options.token } }),
      });
      socket.once('connect', () => {
        socket.close();
        reject(new Error(`${namespace} accepted the connection`));
      });
      socket.once('connect_error', (error) => {
        socket.close();
        resolve({ message: error.message, data: Reflect.get(error, 'data') });
      });
    });

  it('should refuse the root namespace "/" with invalid_namespace, without and with a valid token, on both transports', async () => {
    const before = await refusedCount('invalid_namespace');
    for (const transport of ['websocket', 'polling'] as const) {
      for (const token of [undefined, world.token().token, await world.apiKey({ role: 'admin' })]) {
        expect(await connectTo('/', { transport, ...(token === undefined ? {} : { token }) })).toEqual({
          message: 'invalid_namespace',
          data: { code: 'invalid_namespace', message: expect.stringContaining(AGENTS_NAMESPACE) },
        });
      }
    }
    expect((await refusedCount('invalid_namespace')) - before).toBe(6);
  });

  it('should refuse every namespace but /agents, and close the engine connection of a refused root join', async () => {
    for (const namespace of ['/admin', '/agents/x', '/Agents', '/agents2']) {
      expect(await connectTo(namespace, { transport: 'websocket', token: world.token().token })).toMatchObject({ message: 'Invalid namespace' });
    }
    const engine = await raw();
    engine.send(`40${JSON.stringify({ token: world.token().token })}`);
    expect(connectErrorOf(await engine.next('44'))).toMatchObject({ message: 'invalid_namespace', data: { code: 'invalid_namespace' } });
    await engine.closed;
    // /agents itself is served as before.
    const client = await connectIo(gateway.url, world.token().token);
    clients.push(client);
    expect(await client.subscribe({ topic: 'still-served' })).toMatchObject({ ok: true });
  });

  it(`should stop engine connections from one address at WS_MAX_CONNECTIONS_PER_IP (${PER_ADDRESS}), before any namespace is joined`, async () => {
    const before = await refusedCount('too_many_connections');
    const held = await Promise.all(Array.from({ length: PER_ADDRESS }, () => raw()));
    expect(held.filter((engine) => engine.open())).toHaveLength(PER_ADDRESS);

    // Ten more: an engine connection opens, but whatever it asks is refused with the code, and it is closed.
    const extra = await Promise.all(Array.from({ length: 10 }, () => raw()));
    for (const [index, engine] of extra.entries()) {
      engine.send(index % 2 === 0 ? `40${AGENTS_NAMESPACE},${JSON.stringify({ token: world.token().token })}` : '40');
    }
    for (const engine of extra) {
      expect(connectErrorOf(await engine.next('44'))).toMatchObject({ message: 'too_many_connections', data: { code: 'too_many_connections' } });
      await engine.closed;
    }
    // One that asks nothing is closed all the same.
    const silent = await raw();
    await silent.closed;
    expect(await refusedIo(gateway.url, world.token().token)).toMatchObject({ message: 'too_many_connections' });
    expect(held.filter((engine) => engine.open())).toHaveLength(PER_ADDRESS);
    expect((await refusedCount('too_many_connections')) - before).toBe(12);

    // A held engine connection is one connection: it joins /agents on its own slot.
    const [first, second] = held;
    first?.send(`40${AGENTS_NAMESPACE},${JSON.stringify({ token: world.token().token })}`);
    expect(await first?.next(`40${AGENTS_NAMESPACE},`)).toMatch(/"sid"/);
    // Closing an engine connection gives its slot back: a new client gets in, and then the address is full again.
    second?.ws.close();
    await second?.closed;
    const client = await waitFor(async () => connectIo(gateway.url, world.token().token).catch(() => undefined), { what: 'a freed slot' });
    clients.push(client);
    expect(await refusedIo(gateway.url, world.token().token)).toMatchObject({ message: 'too_many_connections' });
  }, 30_000);

  it('should carry one /agents socket per engine connection, and close a connection refused for its credential', async () => {
    const engine = await raw();
    const token = world.token().token;
    // Two CONNECTs at once, while the first is still being authenticated (socket.io itself closes a connection that
    // asks again for a namespace it has joined).
    engine.send(`40${AGENTS_NAMESPACE},${JSON.stringify({ token })}`);
    engine.send(`40${AGENTS_NAMESPACE},${JSON.stringify({ token })}`);
    await engine.next(`40${AGENTS_NAMESPACE},`);
    expect(connectErrorOf(await engine.next('44'))).toMatchObject({ message: 'too_many_connections' });
    // The first socket stays connected.
    engine.send(`42${AGENTS_NAMESPACE},7["ping"]`);
    expect(await engine.next(`43${AGENTS_NAMESPACE},7`)).toContain('"ts"');
    expect(engine.open()).toBe(true);

    const refused = await raw();
    refused.send(`40${AGENTS_NAMESPACE},${JSON.stringify({ token: 'not-a-token' })}`);
    expect(connectErrorOf(await refused.next('44'))).toMatchObject({ message: 'unauthorized', data: { reason: 'malformed' } });
    await refused.closed;
  });
});
