import { Streams, runEventId, streamKey } from '@skreaver/contracts';
import type { RunEventV1 } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { appendAll, bootGateway, connectIo, createWorld, openWs, runEvent } from './gateway.harness';
import type { BootedGateway, GatewayWorld } from './gateway.harness';

const ids = (events: readonly RunEventV1[]) => events.map((event) => event.id);

// Each test pushes 1000 events through two replicas; a loaded two-core CI machine needs well over Jest's default.
const HEAVY_TEST_MS = 90_000;
const EVENTS_WAIT_MS = 60_000;

// Two gateway replicas on one Redis: a client that loses replica A resumes on replica B with its last event id.
describe('ws-gateway resume', () => {
  let world: GatewayWorld;
  let replicaA: BootedGateway;
  let replicaB: BootedGateway;

  beforeAll(async () => {
    world = await createWorld('gw-resume');
    [replicaA, replicaB] = await Promise.all([bootGateway(world), bootGateway(world)]);
  });

  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await world?.cleanup();
  });

  it('should resume an agent subscription on another replica after a disconnect: 1000 events, none lost, none twice, in order', async () => {
    const agent = newId();
    const runs = Array.from({ length: 10 }, () => newId());
    // Ten runs interleaved, as a busy agent's events reach the global stream.
    const events = Array.from({ length: 1000 }, (_, i) => runEvent(agent, runs[i % 10] ?? '', Math.floor(i / 10) + 1));
    const token = world.token().token;

    const first = await connectIo(replicaA.url, token);
    expect(await first.subscribe({ agent_id: agent })).toMatchObject({ ok: true });
    await appendAll(world, events.slice(0, 400));
    await waitFor(() => first.events.length === 400, { timeoutMs: EVENTS_WAIT_MS, what: 'the first 400 events on replica A' });
    first.socket.close();
    const last = first.events.at(-1)?.id;

    // Missed while disconnected, then more while the resumed subscription replays.
    await appendAll(world, events.slice(400, 600));
    const second = await connectIo(replicaB.url, token);
    const producing = appendAll(world, events.slice(600));
    const ack = await second.subscribe({ agent_id: agent, after: last });
    await producing;
    expect(ack).toMatchObject({ ok: true, room: `t:default:agent:${agent}`, replayed: expect.any(Number) });
    // A marker appended after the last event arrives after everything else of the subscription, duplicates included.
    const marker = runEvent(agent, runs[0] ?? '', 101);
    await appendAll(world, [marker]);
    await waitFor(() => second.events.at(-1)?.id === marker.id, { timeoutMs: EVENTS_WAIT_MS, what: 'all 1000 events and the marker' });
    expect([...ids(first.events), ...ids(second.events.slice(0, -1))]).toEqual(ids(events));
    second.socket.close();
  }, HEAVY_TEST_MS);

  it('should resume a run subscription over /ws after a disconnect: 1000 events of one run, none lost, none twice', async () => {
    const [agent, run] = [newId(), newId()];
    const events = Array.from({ length: 1000 }, (_, i) => runEvent(agent, run, i + 1));
    const token = world.token().token;

    const first = await openWs(replicaA.url, { token });
    await first.request({ type: 'subscribe', run_id: run });
    await appendAll(world, events.slice(0, 300));
    await waitFor(() => first.events().length === 300, { timeoutMs: EVENTS_WAIT_MS, what: 'the first 300 events' });
    first.ws.close();
    await first.closed;
    const last = first.events().at(-1)?.id;

    await appendAll(world, events.slice(300, 500));
    const second = await openWs(replicaB.url, { token });
    const producing = appendAll(world, events.slice(500));
    const ack = await second.request({ type: 'subscribe', run_id: run, after: last });
    await producing;
    expect(ack).toMatchObject({ type: 'ack', ok: true, room: `t:default:run:${run}` });
    // A marker appended after the last event arrives after everything else of the subscription, duplicates included.
    const marker = runEvent(agent, run, 1001);
    await appendAll(world, [marker]);
    await waitFor(() => second.events().at(-1)?.id === marker.id, { timeoutMs: EVENTS_WAIT_MS, what: 'all 1000 events and the marker' });
    expect([...ids(first.events()), ...ids(second.events().slice(0, -1))]).toEqual(ids(events));
    second.ws.close();
  }, HEAVY_TEST_MS);

  it('should replay a finished run from the database archive once its Redis log has expired', async () => {
    const [agent, run] = [newId(), newId()];
    const events = Array.from({ length: 5 }, (_, i) => runEvent(agent, run, i + 1));
    await world.archive(events);
    await world.client.del(streamKey(Streams.runEvents, world.redis.prefix, run));

    const client = await connectIo(replicaA.url, world.token().token);
    expect(await client.subscribe({ run_id: run, after: runEventId(run, 2) })).toMatchObject({ ok: true, replayed: 3 });
    expect(client.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    client.socket.close();
  });

  it("should find an older event by its timestamp when the replica has not seen it, and refuse unknown or another tenant's events", async () => {
    const agent = newId();
    const events = Array.from({ length: 20 }, (_, i) => runEvent(agent, newId(), 1, { ts: new Date(Date.now() - 1000 + i).toISOString() }));
    await appendAll(world, events);
    // A replica started after the events were published has none of them in its recent index.
    const fresh = await bootGateway(world);
    try {
      const client = await connectIo(fresh.url, world.token().token);
      expect(await client.subscribe({ agent_id: agent, after: events[14]?.id })).toMatchObject({ ok: true, replayed: 5 });
      expect(ids(client.events)).toEqual(ids(events.slice(15)));

      expect(await client.subscribe({ agent_id: newId(), after: runEventId(newId(), 3) })).toMatchObject({ ok: false, error: { code: 'replay_unavailable' } });
      const stranger = await connectIo(fresh.url, world.token({ tenant: 'acme' }).token);
      expect(await stranger.subscribe({ agent_id: agent, after: events[14]?.id })).toMatchObject({ ok: false, error: { code: 'replay_unavailable' } });
      // Replica A has it in its index; the tenant check applies there too.
      const elsewhere = await connectIo(replicaA.url, world.token({ tenant: 'acme' }).token);
      expect(await elsewhere.subscribe({ agent_id: agent, after: events[19]?.id })).toMatchObject({ ok: false, error: { code: 'replay_unavailable' } });
      for (const c of [client, stranger, elsewhere]) c.socket.close();
    } finally {
      await fresh.close();
    }
  });
});
