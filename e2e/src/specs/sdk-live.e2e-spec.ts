import type { RunEventV1 } from '@skreaver/contracts';
import { SkreaverClient } from '@skreaver/sdk';
import type { SocketIoFactory, StreamState } from '@skreaver/sdk';
import { startModelStandIn, startTcpProxy, waitFor } from '@skreaver/testing';
import type { ModelStandIn, TcpProxy } from '@skreaver/testing';
import { io } from 'socket.io-client';

import { startStack } from '../support/stack';
import type { ServiceProcess, Stack } from '../support/stack';

/** Long enough that a run streams it for a few seconds (4 characters every 25 ms): there is a "mid-stream". */
const ANSWER = 'Every event of a run reaches a resumed client once: none lost when its gateway dies, none repeated. '.repeat(6);

const ids = (events: readonly RunEventV1[]) => events.map((event) => event.id);

// The SDK's live streams over socket.io (`io` given), against the built services as processes, with a TCP proxy the
// test controls standing in for the load balancer in front of the gateway replicas: a replica killed with SIGKILL
// mid-stream (new connections go to another one) and a cut TCP connection. Every event is compared with the run's
// log as agent-api serves it: same events, same order, none twice.
describe('@skreaver/sdk live streams over socket.io against gateway processes', () => {
  let stack: Stack;
  let model: ModelStandIn;
  let proxy: TcpProxy;
  let sdk: SkreaverClient;
  /** The replica started during the tests (the agents.watch one), alive for the last test. */
  let restarted: ServiceProcess | undefined;

  beforeAll(async () => {
    model = await startModelStandIn({ chunkChars: 4, chunkDelayMs: 25, script: () => ({ content: ANSWER }) });
    stack = await startStack({ gateways: 2, env: { SKREAVER_LLM_BASE_URL: model.baseUrl, SKREAVER_LLM_MODEL: 'tiny' } });
    proxy = await startTcpProxy(stack.gateways[0]?.port ?? 0);
    sdk = new SkreaverClient({ baseUrl: stack.api.url, apiKey: stack.adminKey, gatewayUrl: proxy.url, io: io as unknown as SocketIoFactory });
  }, 60_000);

  afterAll(async () => {
    await proxy?.close();
    await stack?.stop();
    await model?.close();
  }, 30_000);

  async function startRun(): Promise<string> {
    const agent = await sdk.agents.create({ name: 'sdk-live', kind: 'llm', config: {} });
    return (await sdk.runs.create(agent.id, 'tell me')).id;
  }

  /** The run's whole log from agent-api (REST), once it has completed. */
  async function logOf(runId: string): Promise<RunEventV1[]> {
    await waitFor(async () => (await sdk.runs.get(runId)).status === 'completed', { timeoutMs: 30_000, what: `run ${runId} to complete` });
    const page = await sdk.events.list(runId, { limit: 1000 });
    expect(page.items.at(-1)?.type).toBe('run.completed');
    return page.items;
  }

  /** Reads `runs.stream(runId)` in the background. */
  function read(runId: string) {
    const received: RunEventV1[] = [];
    const states: StreamState[] = [];
    const stream = sdk.runs.stream(runId, { onState: (state) => states.push(state) });
    const done = (async () => {
      for await (const event of stream) received.push(event);
    })();
    return { stream, received, states, done };
  }

  const deltas = (events: readonly RunEventV1[]) => events.filter((event) => event.type === 'message.delta').length;

  /** Waits until a few deltas arrived (mid-stream); on timeout says what did arrive and where the run is. */
  async function someDeltas(runId: string, received: readonly RunEventV1[], states: readonly StreamState[]): Promise<void> {
    await waitFor(() => deltas(received) >= 3, { timeoutMs: 30_000, what: 'some deltas live over socket.io' }).catch(async (error: unknown) => {
      const run = await sdk.runs.get(runId);
      throw new Error(`${String(error)}; received ${JSON.stringify(received.map((event) => event.type))}, states ${JSON.stringify(states)}, run ${run.status} (attempts ${run.attempts})`);
    });
  }

  async function kill(replica: ServiceProcess | undefined): Promise<void> {
    replica?.child.kill('SIGKILL');
    expect(await replica?.exited).toEqual({ code: null, signal: 'SIGKILL' });
  }

  it('should resume runs.stream on another replica after its replica is killed with SIGKILL mid-stream: every event once, in order', async () => {
    const [doomed, survivor] = stack.gateways;
    proxy.target = doomed?.port ?? 0;
    const runId = await startRun();
    const reading = read(runId);
    await someDeltas(runId, reading.received, reading.states);

    // The balancer sends new connections to the survivor; the replica holding the stream dies without a word.
    proxy.target = survivor?.port ?? 0;
    await kill(doomed);
    const atKill = reading.received.length;
    await reading.done;

    const log = await logOf(runId);
    expect(atKill).toBeLessThan(log.length - 3);
    expect(ids(reading.received)).toEqual(ids(log));
    expect(reading.stream).toMatchObject({ via: 'socket.io', reconnects: 1, lastEventId: log.at(-1)?.id });
    expect(reading.states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  }, 60_000);

  it('should resume agents.watch on a newly started replica after its replica is killed with SIGKILL: every event once', async () => {
    const doomed = stack.gateways[1];
    proxy.target = doomed?.port ?? 0;
    restarted = await stack.launch('ws-gateway');
    const agent = await sdk.agents.create({ name: 'sdk-watch', kind: 'llm', config: {} });
    const received: RunEventV1[] = [];
    const states: StreamState[] = [];
    const controller = new AbortController();
    const watch = sdk.agents.watch(agent.id, { signal: controller.signal, onState: (state) => states.push(state) });
    const watching = (async () => {
      for await (const event of watch) received.push(event);
    })().catch((error: unknown) => error);
    await waitFor(() => states.includes('live'), { what: 'the subscription' });

    const runId = (await sdk.runs.create(agent.id, 'tell me')).id;
    await someDeltas(runId, received, states);
    proxy.target = restarted.port;
    await kill(doomed);

    const log = await logOf(runId);
    await waitFor(() => received.length >= log.length, { timeoutMs: 20_000, what: 'every event of the run on the new replica' });
    expect(ids(received)).toEqual(ids(log));
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    controller.abort(new Error('done watching'));
    expect(await watching).toEqual(new Error('done watching'));
  }, 60_000);

  it('should resume runs.stream over socket.io after its TCP connection is cut mid-stream: every event once, in order', async () => {
    proxy.target = restarted?.port ?? 0;
    const runId = await startRun();
    const reading = read(runId);
    await someDeltas(runId, reading.received, reading.states);
    const before = proxy.connections;
    proxy.cut();
    await reading.done;

    const log = await logOf(runId);
    expect(ids(reading.received)).toEqual(ids(log));
    expect(reading.stream).toMatchObject({ via: 'socket.io', reconnects: 1 });
    expect(proxy.connections).toBe(before + 1);
  }, 60_000);
});
