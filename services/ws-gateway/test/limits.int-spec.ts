import { Streams, WsCloseCode } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { bootGateway, connectIo, createWorld, metricValue, openWs, refusedIo, runEvent } from './gateway.harness';
import type { BootedGateway, GatewayWorld, IoClient, WsClient } from './gateway.harness';

const failed = (text: string, reason: string) => metricValue(text, `websocket_connections_failed_total{reason="${reason}"}`);

describe('ws-gateway limits', () => {
  let world: GatewayWorld;
  let gateway: BootedGateway;
  let ioClients: IoClient[] = [];
  let wsClients: WsClient[] = [];

  beforeAll(async () => {
    world = await createWorld('gw-limits');
    gateway = await bootGateway(world, {
      WEBSOCKET_MAX_CONNECTIONS: '6',
      WS_MAX_CONNECTIONS_PER_IP: '3',
      // The tests pose as clients behind one proxy by sending X-Forwarded-For.
      WS_TRUST_PROXY_HOPS: '1',
      WS_MAX_SUBSCRIPTIONS: '3',
      WS_MAX_MESSAGE_BYTES: '2048',
      WS_MAX_BUFFERED_BYTES: '65536',
    });
  });

  afterEach(async () => {
    for (const client of ioClients) client.socket.close();
    for (const client of wsClients) client.ws.terminate();
    ioClients = [];
    wsClients = [];
    await waitFor(async () => metricValue(await gateway.metrics(), 'websocket_connections_active') === 0, { what: 'every connection to close' });
  });

  afterAll(async () => {
    await gateway?.close();
    await world?.cleanup();
  });

  const from = (address: string) => ({ 'x-forwarded-for': address });
  const io = async (address: string) => {
    const client = await connectIo(gateway.url, world.token().token, { extraHeaders: from(address) });
    ioClients.push(client);
    return client;
  };
  const ws = async (address = '10.9.9.9', options: { autoPong?: boolean } = {}) => {
    const client = await openWs(gateway.url, { token: world.token().token, headers: from(address), ...options });
    wsClients.push(client);
    return client;
  };

  it('should refuse connections beyond the per-address and per-replica limits on both transports, and count them', async () => {
    const before = await gateway.metrics();
    await Promise.all([io('10.0.0.1'), io('10.0.0.1'), ws('10.0.0.1')]);
    expect(await refusedIo(gateway.url, world.token().token, { extraHeaders: from('10.0.0.1') })).toMatchObject({
      message: 'too_many_connections',
      data: { code: 'too_many_connections' },
    });
    const perAddress = await ws('10.0.0.1');
    expect(await perAddress.closed).toEqual({ code: WsCloseCode.tooManyConnections, reason: 'too_many_connections' });

    await Promise.all([io('10.0.0.2'), ws('10.0.0.3'), ws('10.0.0.4')]);
    expect(await refusedIo(gateway.url, world.token().token, { extraHeaders: from('10.0.0.5') })).toMatchObject({ message: 'max_connections' });
    const full = await ws('10.0.0.5');
    expect(await full.closed).toEqual({ code: WsCloseCode.tryAgainLater, reason: 'max_connections' });
    expect(full.frames).toEqual([{ type: 'error', code: 'max_connections', message: expect.any(String) }]);

    const after = await gateway.metrics();
    expect(failed(after, 'too_many_connections') - failed(before, 'too_many_connections')).toBe(2);
    expect(failed(after, 'max_connections') - failed(before, 'max_connections')).toBe(2);
    expect(metricValue(after, 'websocket_connections_active')).toBe(6);
    expect([...ioClients.map((c) => c.socket.connected), ...wsClients.filter((c) => c !== perAddress && c !== full).map((c) => c.ws.readyState === c.ws.OPEN)]).toEqual(
      Array.from({ length: 6 }, () => true),
    );
  });

  it('should refuse subscriptions beyond WS_MAX_SUBSCRIPTIONS per connection', async () => {
    const client = await io('10.1.0.1');
    const agents = [newId(), newId(), newId(), newId()];
    for (const agent of agents.slice(0, 3)) expect(await client.subscribe({ agent_id: agent })).toMatchObject({ ok: true });
    expect(await client.subscribe({ agent_id: agents[3] })).toMatchObject({ ok: false, error: { code: 'too_many_subscriptions' } });
    expect(await client.subscribe({ agent_id: agents[0] })).toMatchObject({ ok: true });
    await client.socket.timeout(5_000).emitWithAck('unsubscribe', { agent_id: agents[0] });
    expect(await client.subscribe({ agent_id: agents[3] })).toMatchObject({ ok: true });

    const plain = await ws();
    for (const topic of ['a', 'b', 'c']) await plain.request({ type: 'subscribe', topic });
    expect(await plain.request({ type: 'subscribe', topic: 'd' })).toMatchObject({ type: 'ack', ok: false, error: { code: 'too_many_subscriptions' } });
  });

  it('should answer oversized, malformed and unknown frames on /ws with an error and keep the connection', async () => {
    const client = await ws();
    const answers = [
      ['x'.repeat(3000), { type: 'error', code: 'message_too_large' }],
      [JSON.stringify({ type: 'subscribe', agent_id: newId(), pad: 'x'.repeat(3000) }), { type: 'error', code: 'message_too_large' }],
      ['{"type": "subscribe",', { type: 'error', code: 'invalid_json' }],
      ['[1, 2]', { type: 'error', code: 'invalid_json' }],
      ['{"id": {}}', { type: 'error', code: 'validation_failed' }],
      ['{"type": "nope", "id": 7}', { type: 'error', code: 'unknown_type', id: 7 }],
      ['{"type": "subscribe", "id": 8, "agent_id": "not-a-uuid"}', { type: 'ack', ok: false, id: 8, error: { code: 'validation_failed' } }],
    ] as const;
    for (const [index, [raw, answer]] of answers.entries()) {
      client.send(raw);
      await waitFor(() => client.frames.length === index + 1, { what: `the answer to frame ${index}` });
      expect(client.frames[index]).toMatchObject(answer);
    }
    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(client.ws.readyState).toBe(client.ws.OPEN);
  });

  it('should answer oversized messages and unknown events on socket.io with an error and keep the connection', async () => {
    const client = await io('10.2.0.1');
    expect(await client.subscribe({ agent_id: newId(), pad: 'x'.repeat(3000) })).toMatchObject({ ok: false, error: { code: 'message_too_large' } });
    client.socket.emit('bogus', { a: 1 });
    await waitFor(() => client.errors.length === 1, { what: 'the error event' });
    expect(client.errors).toEqual([{ code: 'unknown_type', message: expect.any(String) }]);
    expect(await client.subscribe({ agent_id: newId() })).toMatchObject({ ok: true });
    expect(client.socket.connected).toBe(true);
  });

  // 800 events of 16 KiB to three clients: the gateway's heaviest test, with a budget for a loaded CI machine.
  it('should cut off a /ws client that stops reading while the others keep receiving everything', async () => {
    const agent = newId();
    const run = newId();
    const steady = await io('10.3.0.1');
    const plain = await ws('10.3.0.2');
    const stalled = await ws('10.3.0.3');
    await steady.subscribe({ agent_id: agent });
    await plain.request({ type: 'subscribe', agent_id: agent });
    await stalled.request({ type: 'subscribe', agent_id: agent });
    // Stops reading: the kernel buffers fill, then the gateway's send buffer grows past WS_MAX_BUFFERED_BYTES.
    stalled.ws.pause();
    const before = failed(await gateway.metrics(), 'slow_consumer');
    const detail = 'x'.repeat(16 * 1024);
    const total = 800;
    for (let seq = 1; seq <= total; seq++) {
      await world.producer.publish(Streams.events, runEvent(agent, run, seq, { type: 'run.step', data: { attempt: 1, step: seq, name: 'big', detail } }));
    }
    await waitFor(() => steady.events.length === total && plain.events().length === total, { timeoutMs: 60_000, what: 'every event on the steady clients' });
    await waitFor(async () => failed(await gateway.metrics(), 'slow_consumer') === before + 1, { timeoutMs: 20_000, what: 'the stalled client to be cut off' });
    stalled.ws.resume();
    expect((await stalled.closed).code).toBe(1006);
    expect(stalled.events().length).toBeLessThan(total);
    expect(steady.events.map((e) => e.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  }, 90_000);
});
