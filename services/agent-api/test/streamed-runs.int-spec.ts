import type { Agent, Run, RunEventV1, RunEventsPage } from '@skreaver/contracts';
import { lastUserMessage, readEventStream, startModelStandIn, waitFor } from '@skreaver/testing';
import type { ModelStandIn, ReceivedSse } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

const ANSWER = 'Tokens stream out of the model a few characters at a time, and each client sees every one exactly once. '.repeat(4);

const parsed = (events: ReceivedSse[]) => events.map((event) => JSON.parse(event.data) as RunEventV1);
const deltaText = (events: RunEventV1[]) => events.flatMap((event) => (event.type === 'message.delta' ? [event.data.text] : [])).join('');

/** Every seq once, from 1 to the last, in order: no gap, no duplicate. */
function expectWholeLog(events: RunEventV1[]): void {
  expect(events.map((event) => event.seq)).toEqual(events.map((_event, index) => index + 1));
  const deltas = events.flatMap((event) => (event.type === 'message.delta' ? [event.data.index] : []));
  expect(deltas).toEqual(deltas.map((_index, position) => position));
}

// Direct mode: agent-api runs the llm agent itself, against the local model stand-in, and streams what it logs.
describe('streamed runs (?stream=true, message.delta, usage)', () => {
  let api: BootedAgentApi;
  let model: ModelStandIn;
  let agent: Agent;

  beforeAll(async () => {
    model = await startModelStandIn({ chunkChars: 6, script: (request) => ({ content: lastUserMessage(request) === 'long' ? ANSWER : 'short answer', usage: { prompt_tokens: 12, completion_tokens: 34 } }) });
    api = await bootAgentApi('sqlite', { SKREAVER_MESH_ENABLED: 'false', SKREAVER_LLM_BASE_URL: model.baseUrl, SKREAVER_LLM_MODEL: 'tiny' });
    agent = (await api.request<Agent>('POST', '/agents', { token: api.adminToken, body: { name: 'streamer', kind: 'llm', config: {} } })).body;
  });

  afterAll(async () => {
    await api?.close();
    await model?.close();
  });

  it('should answer ?stream=true with the run events as they happen, deltas included, and store the usage', async () => {
    model.setChunkDelay(2);
    const streamed = await readEventStream(`${api.url}/agents/${agent.id}/runs?stream=true`, { method: 'POST', headers: api.adminHeaders, body: { input: 'long' } });

    expect(streamed.status).toBe(200);
    expect(streamed.contentType).toMatch(/^text\/event-stream/);
    const events = parsed(streamed.events);
    const runId = String(streamed.headers['x-run-id']);
    expect(events.every((event) => event.run_id === runId)).toBe(true);
    expect(streamed.events.map((event) => event.event)).toEqual(events.map((event) => event.type));
    expect(events[0]?.type).toBe('run.queued');
    expect(events.at(-1)).toMatchObject({ type: 'run.completed', data: { output: ANSWER } });
    expect(deltaText(events)).toBe(ANSWER);
    expectWholeLog(events);
    expect(model.requests.at(-1)?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });

    const run = await api.request<Run>('GET', `/runs/${runId}`, { headers: api.adminHeaders });
    expect(run.body).toMatchObject({ status: 'completed', output: ANSWER, usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 } });
  });

  it('should count tokens and model call durations in /metrics', async () => {
    const before = await tokenCounts();
    await api.request<Run>('POST', `/agents/${agent.id}/runs?wait=10`, { headers: api.adminHeaders, body: { input: 'count me' } });

    await waitFor(async () => (await tokenCounts()).prompt === before.prompt + 12);
    expect(await tokenCounts()).toEqual({ prompt: before.prompt + 12, completion: before.completion + 34 });
    const metrics = (await api.request<string>('GET', '/metrics')).body;
    expect(metrics).toMatch(/^skreaver_llm_request_duration_seconds_count\{agent_kind="llm",outcome="ok"\} [1-9]/m);
  });

  it('should give a client that drops mid-stream the events it missed on resume, none twice', async () => {
    model.setChunkDelay(15);
    const first = await readEventStream(`${api.url}/agents/${agent.id}/runs?stream=true`, {
      method: 'POST',
      headers: api.adminHeaders,
      body: { input: 'long' },
      until: (events) => events.filter((event) => event.event === 'message.delta').length >= 2,
    });
    expect(first.stopped).toBe(true);
    const runId = String(first.headers['x-run-id']);
    const lastId = String(first.events.at(-1)?.id);

    const resumed = await readEventStream(`${api.url}/runs/${runId}/events`, { headers: { ...api.adminHeaders, 'last-event-id': lastId } });
    const page = await api.request<RunEventsPage>('GET', `/runs/${runId}/events?after=${encodeURIComponent(lastId)}&limit=1000`, { headers: api.adminHeaders });

    const whole = [...parsed(first.events), ...parsed(resumed.events)];
    expectWholeLog(whole);
    expect(whole.at(-1)?.type).toBe('run.completed');
    expect(deltaText(whole)).toBe(ANSWER);
    expect(page.body.items).toEqual(parsed(resumed.events));

    // Resuming once the run is over: the rest of the log, up to run.completed with the final message.
    const late = await readEventStream(`${api.url}/runs/${runId}/events`, { headers: { ...api.adminHeaders, 'last-event-id': lastId } });
    expect(parsed(late.events)).toEqual(parsed(resumed.events));
    expect(parsed(late.events).at(-1)).toMatchObject({ type: 'run.completed', data: { output: ANSWER } });
  });

  it('should answer ?wait and plain creation as before when stream is false', async () => {
    const created = await api.request<Run>('POST', `/agents/${agent.id}/runs?stream=false&wait=10`, { headers: api.adminHeaders, body: { input: 'short' } });

    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ status: 'completed', output: 'short answer' });
  });

  it('should refuse a stream value other than true or false', async () => {
    const refused = await api.request('POST', `/agents/${agent.id}/runs?stream=yes`, { headers: api.adminHeaders, body: { input: 'x' } });

    expect(refused.status).toBe(400);
  });

  async function tokenCounts(): Promise<{ prompt: number; completion: number }> {
    const metrics = (await api.request<string>('GET', '/metrics')).body;
    const value = (type: string) => Number(new RegExp(`^skreaver_llm_tokens_total\\{agent_kind="llm",type="${type}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    return { prompt: value('prompt'), completion: value('completion') };
  }
});
