import { connect } from 'node:net';
import type { Socket } from 'node:net';

import { WsCloseCode } from '@skreaver/contracts';
import type { Agent, Run, RunEventV1, RunEventsPage } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';

import { call } from '../support/api-client';
import { plainWsClient, socketIoClient } from '../support/gateway-clients';
import type { LiveClient } from '../support/gateway-clients';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

// Two gateway replicas as processes: clients move between them (a disconnect, a replica killed outright) and
// resume with their last event id, and every event of every real run arrives exactly once.

// The reconnect storm: every client of a replica killed at once comes back at once (the bench's `sockets` scenario
// does it with 5,000 behind nginx).
const STORM_CLIENTS = 200;
// More connects than Node's default listen backlog (511) queues for a replica that is not accepting.
const QUEUED_CONNECTS = 1_000;

describe('gateway failover', () => {
  let stack: Stack;
  const clients: LiveClient[] = [];

  beforeAll(async () => {
    // The storm's clients all come from 127.0.0.1: room for them under the per-address limit (100 by default).
    stack = await startStack({ gateways: 2, env: { WS_MAX_CONNECTIONS_PER_IP: String(4 * STORM_CLIENTS) } });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    await stack?.stop();
  }, 30_000);

  const track = <C extends LiveClient>(client: C): C => {
    clients.push(client);
    return client;
  };

  async function createAgent(): Promise<string> {
    const created = await call<Agent>(stack.api.url, 'POST', '/agents', { name: 'failover', kind: 'echo', config: {} });
    expect(created.status).toBe(201);
    return created.body.id;
  }

  async function startRuns(agentId: string, count: number, spacingMs: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const accepted = await call<Run>(stack.api.url, 'POST', `/agents/${agentId}/runs`, { input: { n: i } });
      expect(accepted.status).toBe(202);
      ids.push(accepted.body.id);
      await new Promise((resolve) => setTimeout(resolve, spacingMs));
    }
    return ids;
  }

  /** Every event of the runs, from the REST log, once they have all completed. */
  async function loggedEvents(runIds: readonly string[]): Promise<RunEventV1[]> {
    const events: RunEventV1[] = [];
    for (const runId of runIds) {
      await waitFor(async () => (await call<Run>(stack.api.url, 'GET', `/runs/${runId}`)).body.status === 'completed', {
        timeoutMs: 20_000,
        what: `run ${runId} to complete`,
      });
      events.push(...(await call<RunEventsPage>(stack.api.url, 'GET', `/runs/${runId}/events`)).body.items);
    }
    return events;
  }

  /** What a client received across its connections, exactly the logged events: none missing, none twice, each run in order. */
  function expectExactlyOnce(received: readonly RunEventV1[], logged: readonly RunEventV1[]): void {
    const ids = received.map((event) => event.id);
    expect(ids.length - new Set(ids).size).toBe(0);
    expect([...ids].sort()).toEqual(logged.map((event) => event.id).sort());
    for (const runId of new Set(logged.map((event) => event.run_id))) {
      expect(received.filter((event) => event.run_id === runId).map((event) => event.seq)).toEqual([1, 2, 3]);
    }
  }

  it('should refuse clients without a valid token on both transports', async () => {
    const [first, second] = stack.gateways;
    await expect(socketIoClient(second?.url ?? '', undefined)).rejects.toMatchObject({ message: 'unauthorized', data: { reason: 'missing' } });
    const refused = await plainWsClient(first?.url ?? '', 'not-a-token');
    expect(await refused.closeCode).toBe(WsCloseCode.unauthorized);
  });

  it('should resume on the other replica after a disconnect, with real runs, losing and repeating nothing', async () => {
    const [first, second] = stack.gateways;
    const agentId = await createAgent();
    const before = track(await socketIoClient(first?.url ?? '', stack.adminToken));
    await before.subscribe({ agent_id: agentId });
    const earlyRuns = await startRuns(agentId, 3, 0);
    await waitFor(() => before.events.length === 9, { what: 'the first three runs live' });
    before.close();

    const missedRuns = await startRuns(agentId, 3, 0);
    await loggedEvents(missedRuns);
    const after = track(await socketIoClient(second?.url ?? '', stack.adminToken));
    const resumed = after.subscribe({ agent_id: agentId, after: before.events.at(-1)?.id });
    const lateRuns = await startRuns(agentId, 3, 0);
    expect(await resumed).toMatchObject({ ok: true });
    const logged = await loggedEvents([...earlyRuns, ...missedRuns, ...lateRuns]);
    await waitFor(() => before.events.length + after.events.length >= logged.length, { what: 'every event' });
    expectExactlyOnce([...before.events, ...after.events], logged);
  }, 30_000);

  it('should let the clients of a replica killed with SIGKILL resume on the other with zero loss', async () => {
    const [doomed, survivor] = stack.gateways;
    const agentId = await createAgent();
    const io = track(await socketIoClient(doomed?.url ?? '', stack.adminToken));
    const ws = track(await plainWsClient(doomed?.url ?? '', stack.adminToken));
    await io.subscribe({ agent_id: agentId });
    await ws.subscribe({ agent_id: agentId });

    const posting = startRuns(agentId, 20, 40);
    await waitFor(() => io.events.length >= 12 && ws.events.length >= 12, { what: 'some runs live on the doomed replica' });
    doomed?.child.kill('SIGKILL');
    await Promise.all([io.gone, ws.gone]);

    const ioBack = track(await socketIoClient(survivor?.url ?? '', stack.adminToken));
    const wsBack = track(await plainWsClient(survivor?.url ?? '', stack.adminToken));
    expect(await ioBack.subscribe({ agent_id: agentId, after: io.events.at(-1)?.id })).toMatchObject({ ok: true });
    expect(await wsBack.subscribe({ agent_id: agentId, after: ws.events.at(-1)?.id })).toMatchObject({ ok: true });
    const logged = await loggedEvents(await posting);
    await waitFor(() => io.events.length + ioBack.events.length >= 60 && ws.events.length + wsBack.events.length >= 60, {
      what: 'every event on the surviving replica',
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expectExactlyOnce([...io.events, ...ioBack.events], logged);
    expectExactlyOnce([...ws.events, ...wsBack.events], logged);
  }, 30_000);

  it('should absorb the reconnect storm of a killed replica: each of its clients resumes on the other, none losing or repeating an event', async () => {
    const survivor = stack.gateways[1];
    const doomed = await stack.launch('ws-gateway');
    const agentId = await createAgent();
    const clientsOfDoomed: LiveClient[] = [];
    for (let i = 0; i < STORM_CLIENTS; i += 50) {
      const batch = Array.from({ length: Math.min(50, STORM_CLIENTS - i) }, async () => {
        const client = track(await socketIoClient(doomed.url, stack.adminToken));
        expect(await client.subscribe({ agent_id: agentId })).toMatchObject({ ok: true });
        return client;
      });
      clientsOfDoomed.push(...(await Promise.all(batch)));
    }
    // Every client holds an event to resume after before the replica dies.
    const firstRun = await startRuns(agentId, 1, 0);
    await waitFor(() => clientsOfDoomed.every((client) => client.events.length === 3), { what: 'the first run on every client' });
    const posting = startRuns(agentId, 10, 30);
    await waitFor(() => clientsOfDoomed.some((client) => client.events.length >= 6), { what: 'a later run live on the doomed replica' });
    doomed.child.kill('SIGKILL');
    await Promise.all(clientsOfDoomed.map((client) => client.gone));
    // Runs that complete while every client is away (replayed to each), then runs during the storm (held back and
    // sent after the replay, or live).
    const missedRuns = await startRuns(agentId, 3, 0);
    await loggedEvents(missedRuns);
    const lateRuns = startRuns(agentId, 5, 30);

    // All at once, as SDK clients do (their first retry waits at most 100 ms).
    const resumed = await Promise.all(
      clientsOfDoomed.map(async (client) => {
        const back = track(await socketIoClient(survivor?.url ?? '', stack.adminToken));
        expect(await back.subscribe({ agent_id: agentId, after: client.events.at(-1)?.id })).toMatchObject({ ok: true });
        return back;
      }),
    );
    const logged = await loggedEvents([...firstRun, ...(await posting), ...missedRuns, ...(await lateRuns)]);
    const receivedBy = (i: number): RunEventV1[] => [...(clientsOfDoomed[i]?.events ?? []), ...(resumed[i]?.events ?? [])];
    await waitFor(() => clientsOfDoomed.every((_, i) => receivedBy(i).length >= logged.length), { what: 'every event on every resumed client' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    clientsOfDoomed.forEach((_, i) => expectExactlyOnce(receivedBy(i), logged));
  }, 30_000);

  it('should report its connections in the runbook metrics and the database in /ready', async () => {
    const survivor = stack.gateways[1];
    const metrics = await (await fetch(`${survivor?.url}/metrics`)).text();
    expect(metrics).toMatch(/^websocket_connections_active [1-9]/m);
    for (const name of ['websocket_connections_total', 'websocket_messages_sent_total', 'websocket_subscriptions_active', 'websocket_event_delivery_seconds_bucket']) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/websocket_connections_failed_total\{reason="unauthorized"\} [1-9]/);
    const ready = (await (await fetch(`${survivor?.url}/ready`)).json()) as { checks: Record<string, { status: string }> };
    expect(ready.checks['database']).toMatchObject({ status: 'up' });
  });

  // A replica taking over a dead one's clients is busy handshaking while they all connect; what it has not accepted
  // yet waits in its listen queue. Connects beyond the queue are dropped by the kernel and retried by the client's
  // TCP only after 1, 3, 7 or 15 s: the bench's 5,000-socket storm waited seconds that way with Node's 511.
  it('should have the kernel queue a storm of connects while the replica accepts none, instead of dropping them', async () => {
    const frozen = await stack.launch('ws-gateway');
    const sockets: Socket[] = [];
    let connected = 0;
    // Stopped, the replica accepts nothing: only its listen queue holds connects (the kernel completes them).
    frozen.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < QUEUED_CONNECTS; i += 1) {
        const socket = connect(frozen.port, '127.0.0.1', () => (connected += 1));
        socket.on('error', () => undefined);
        sockets.push(socket);
      }
      // Without room in the queue this stops at 512 until the replica runs again, however long it waits.
      await waitFor(() => connected === QUEUED_CONNECTS, { timeoutMs: 10_000 }).catch(() => {
        throw new Error(`${connected} of ${QUEUED_CONNECTS} connects queued by the stopped replica`);
      });
    } finally {
      frozen.child.kill('SIGCONT');
      for (const socket of sockets) socket.destroy();
    }
  }, 30_000);
});
