import type { Agent, Run, RunEventV1 } from '@skreaver/contracts';
import { lastUserMessage, startModelStandIn, waitFor } from '@skreaver/testing';
import type { ModelStandIn } from '@skreaver/testing';

import { call } from '../support/api-client';
import { plainWsClient, socketIoClient } from '../support/gateway-clients';
import type { LiveClient } from '../support/gateway-clients';
import { readEventStream } from '../support/sse-client';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

const ANSWER = 'A streamed answer leaves the model in small pieces; the platform coalesces them into deltas. '.repeat(5);
const USAGE = { prompt_tokens: 21, completion_tokens: 99 };

const deltas = (events: RunEventV1[]) => events.flatMap((event) => (event.type === 'message.delta' ? [event] : []));
const deltaText = (events: RunEventV1[]) => deltas(events).map((event) => event.data.text).join('');
const seqs = (events: RunEventV1[]) => events.map((event) => event.seq);
const consecutive = (from: number, count: number) => Array.from({ length: count }, (_unused, index) => from + index);

// An llm agent on a coordinator streams its answer from the local model stand-in (a few characters every 20 ms):
// the deltas reach a socket.io client of the agent, the SSE answer of ?stream=true, and clients of either gateway
// transport that drop mid-stream and resume with `after` get the rest with no gap and nothing twice.
describe('streamed tokens through a coordinator', () => {
  let stack: Stack;
  let model: ModelStandIn;
  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);

  beforeAll(async () => {
    model = await startModelStandIn({ chunkChars: 4, chunkDelayMs: 20, script: (request) => ({ content: lastUserMessage(request) === 'stream' ? ANSWER : 'ok', usage: USAGE }) });
    stack = await startStack({ env: { SKREAVER_LLM_BASE_URL: model.baseUrl, SKREAVER_LLM_MODEL: 'tiny' } });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await model?.close();
  }, 30_000);

  it('should deliver every delta live to socket.io and to ?stream=true, and resumed clients get no gap and no duplicate', async () => {
    const agent = (await api<Agent>('POST', '/agents', { name: 'streamer', kind: 'llm', config: {} })).body;
    const gateway = stack.gateways[0]?.url ?? '';
    const watcher = await socketIoClient(gateway, stack.adminToken);
    expect(await watcher.subscribe({ agent_id: agent.id })).toMatchObject({ ok: true });

    const streamed = readEventStream(`${stack.api.url}/agents/${agent.id}/runs?stream=true`, { method: 'POST', body: { input: 'stream' }, timeoutMs: 30_000 });
    const runId = await waitFor(() => watcher.events.find((event) => event.type === 'run.queued')?.run_id, { what: 'run.queued on socket.io' });
    const resumed = await Promise.all([
      dropAndResume(runId, () => socketIoClient(gateway, stack.adminToken)),
      dropAndResume(runId, () => plainWsClient(gateway, stack.adminToken)),
    ]);
    const sse = await streamed;

    // The whole log, as the API has it.
    const log = (await api<{ items: RunEventV1[] }>('GET', `/runs/${runId}/events?limit=1000`)).body.items;
    expect(seqs(log)).toEqual(consecutive(1, log.length));
    expect(log.at(-1)).toMatchObject({ type: 'run.completed', data: { output: ANSWER } });
    expect(deltaText(log)).toBe(ANSWER);
    expect(deltas(log).map((event) => event.data.index)).toEqual(consecutive(0, deltas(log).length));
    // Coalesced: fewer events than the model's 4-character chunks.
    expect(deltas(log).length).toBeLessThan(ANSWER.length / 4);

    // ?stream=true: every event, in order, once.
    expect(sse.status).toBe(200);
    expect(sse.events.map((event) => JSON.parse(event.data) as RunEventV1)).toEqual(log);
    // socket.io subscriber of the agent: every event of the run, live.
    await waitFor(() => watcher.events.some((event) => event.run_id === runId && event.type === 'run.completed'), { what: 'run.completed on socket.io' });
    expect(watcher.events.filter((event) => event.run_id === runId)).toEqual(log);
    watcher.close();

    // Clients that dropped mid-stream and resumed with `after`: seq 2 onwards, each exactly once.
    for (const { before, after } of resumed) {
      expect(before.length).toBeGreaterThan(0);
      expect(after.length).toBeGreaterThan(0);
      expect([...before, ...after]).toEqual(log.slice(1));
    }

    const run = (await api<Run>('GET', `/runs/${runId}`)).body;
    expect(run.usage).toEqual({ ...USAGE, total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens });
    const metrics = await (await fetch(`${stack.coordinator.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^skreaver_llm_tokens_total\\{agent_kind="llm",type="completion"\\} ${USAGE.completion_tokens}$`, 'm'));
    expect(metrics).toMatch(/^skreaver_llm_request_duration_seconds_count\{agent_kind="llm",outcome="ok"\} 1$/m);
  }, 60_000);

  /**
   * Subscribes to the run from its first event, hangs up after a few deltas, waits until more were logged (missed
   * while away), then subscribes again on a new connection with `after` = the last event it had, until the end.
   */
  async function dropAndResume(runId: string, connect: () => Promise<LiveClient>): Promise<{ before: RunEventV1[]; after: RunEventV1[] }> {
    const first = await connect();
    expect(await first.subscribe({ run_id: runId, after: `${runId}:1` })).toMatchObject({ ok: true });
    await waitFor(() => deltas(first.events).length >= 3, { timeoutMs: 15_000, what: 'three deltas before dropping' });
    first.close();
    await first.gone;
    const before = [...first.events];
    const last = before.at(-1) as RunEventV1;
    await waitFor(async () => {
      const log = (await api<{ items: RunEventV1[] }>('GET', `/runs/${runId}/events?after=${encodeURIComponent(last.id)}&limit=1000`)).body.items;
      return deltas(log).length >= 2;
    }, { timeoutMs: 15_000, what: 'deltas logged while the client was away' });
    const second = await connect();
    expect(await second.subscribe({ run_id: runId, after: last.id })).toMatchObject({ ok: true });
    await waitFor(() => second.events.some((event) => event.type === 'run.completed'), { timeoutMs: 20_000, what: 'run.completed after resuming' });
    second.close();
    return { before, after: second.events };
  }
});
