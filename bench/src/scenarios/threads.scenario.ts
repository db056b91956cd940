import { startModelStandIn } from '@skreaver/testing';
import type { ModelStandIn, StandInRequest } from '@skreaver/testing';

import { connectLive, subscribe } from '../support/live-client';
import { Platform } from '../support/platform';
import type { Metric, Scenario, ScenarioContext } from '../support/results';
import { summarize } from '../support/stats';
import { withTimeout } from '../support/time';

/** Turns of one conversation. */
const TURNS = 20;

/** Per-turn latencies, turn by turn, of every conversation. */
interface Conversation {
  /** ms, index = turn - 1. */
  turns: number[];
  /** The request each turn made to the model (one per turn: the script never calls tools), for the direct replay. */
  requests: StandInRequest[];
}

/** A reply whose length does not depend on the history, so every turn asks the model for the same work. */
const reply = (request: StandInRequest) => ({ content: `noted (${request.messages.length} messages so far)` });

/**
 * The Skreaver path: an `llm` agent on a coordinator, one thread, TURNS inputs one after another, each timed from
 * `POST /threads/{id}/runs` sent to `run.completed` received on a socket.io client subscribed to the agent.
 */
async function throughThePlatform(context: ScenarioContext, model: ModelStandIn, conversations: number): Promise<{ threads: Conversation[]; plain: Conversation }> {
  const platform = new Platform({
    env: { SKREAVER_LLM_BASE_URL: model.baseUrl, SKREAVER_LLM_MODEL: 'stand-in' },
    ...(context.profileDir ? { profileDir: `${context.profileDir}/threads` } : {}),
  });
  const waiting = new Map<string, () => void>();
  const early = new Set<string>();
  /** TURNS inputs posted to `path` one after another, each timed until its run.completed arrives on the socket. */
  const converse = async (path: string): Promise<Conversation> => {
    const conversation: Conversation = { turns: [], requests: [] };
    for (let turn = 1; turn <= TURNS; turn += 1) {
      const asked = model.requests.length;
      const at = performance.now();
      const run = await platform.api<{ id: string; status: string }>('POST', path, { input: `turn ${turn}: tell me more` });
      if (run.status !== 202) throw new Error(`POST ${path} answered ${run.status}`);
      if (!early.delete(run.body.id)) {
        await withTimeout(new Promise<void>((resolve) => waiting.set(run.body.id, resolve)), 15_000, `turn ${turn} to complete`);
        waiting.delete(run.body.id);
      }
      conversation.turns.push(performance.now() - at);
      const request = model.requests[asked];
      if (!request || model.requests.length !== asked + 1) throw new Error(`turn ${turn} made ${model.requests.length - asked} model calls, not 1`);
      conversation.requests.push(request);
    }
    return conversation;
  };
  try {
    await platform.start(['agent-api', 'ws-gateway', 'mesh-coordinator']);
    const agent = await platform.api<{ id: string }>('POST', '/agents', { name: 'bench-llm', kind: 'llm', config: { system: 'You are a benchmark.' } });
    if (agent.status !== 201) throw new Error(`POST /agents answered ${agent.status}`);
    const socket = await connectLive(platform.service('ws-gateway').url, platform.token, (event) => {
      if (event.type !== 'run.completed' && event.type !== 'run.failed') return;
      const wake = waiting.get(event.run_id);
      if (wake) wake();
      else early.add(event.run_id);
    });
    try {
      await subscribe(socket, { agent_id: agent.body.id });
      const threads: Conversation[] = [];
      // One conversation more than measured: the first warms up (JIT, connections, statements) and is not counted.
      for (let n = 0; n <= conversations; n += 1) {
        const thread = await platform.api<{ id: string }>('POST', '/threads', { agent_id: agent.body.id });
        if (thread.status !== 201) throw new Error(`POST /threads answered ${thread.status}`);
        threads.push(await converse(`/threads/${thread.body.id}/runs`));
      }
      // The same inputs as plain runs of the agent (no thread, so no history): what a run costs without the thread.
      const plain = await converse(`/agents/${agent.body.id}/runs`);
      return { threads: threads.slice(1), plain };
    } finally {
      socket.close();
    }
  } finally {
    await platform.stop();
  }
}

/** The baseline: the very requests the platform made, sent by this process straight to the stand-in, timed to the last byte. */
async function direct(model: ModelStandIn, conversations: Conversation[]): Promise<number[][]> {
  const url = `${model.baseUrl}/chat/completions`;
  const send = async (request: StandInRequest) => {
    const at = performance.now();
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request.body) });
    await response.text();
    if (!response.ok) throw new Error(`the stand-in answered ${response.status}`);
    return performance.now() - at;
  };
  // Warm-up, not counted.
  for (const request of conversations[0]?.requests ?? []) await send(request);
  const timed: number[][] = [];
  for (const conversation of conversations) {
    const turns: number[] = [];
    for (const request of conversation.requests) turns.push(await send(request));
    timed.push(turns);
  }
  return timed;
}

const info = (name: string, unit: string, ours: number, baseline: number | null = null): Metric => ({
  name,
  unit,
  baseline,
  ours,
  ratio: baseline ? ours / baseline : null,
});

/** Scenario: a 20-turn thread conversation with an `llm` agent against the local model stand-in. */
export const threadsScenario: Scenario = {
  id: 'threads',
  title: `Threads: a ${TURNS}-turn conversation (llm agent → local model stand-in) vs the same model calls made directly`,
  timeoutMs: (quick) => (quick ? 120_000 : 300_000),
  async run(context) {
    const model = await startModelStandIn({ script: reply });
    try {
      const measured = await throughThePlatform(context, model, context.quick ? 2 : 5);
      const conversations = measured.threads;
      const baseline = await direct(model, conversations);
      const [plainBaseline = []] = await direct(model, [measured.plain]);
      const plainOverhead = measured.plain.turns.map((ms, t) => ms - (plainBaseline[t] ?? 0));
      const ours = conversations.flatMap((conversation) => conversation.turns);
      const raw = baseline.flat();
      const overhead = conversations.flatMap((conversation, c) => conversation.turns.map((ms, t) => ms - (baseline[c]?.[t] ?? 0)));
      const oursStats = summarize(ours);
      const rawStats = summarize(raw);
      const overheadStats = summarize(overhead);
      const atTurn = (turn: number) => summarize(conversations.map((conversation, c) => (conversation.turns[turn - 1] ?? 0) - (baseline[c]?.[turn - 1] ?? 0))).p50;
      context.record(info('turn latency p50 (POST → run.completed on a socket)', 'ms', oursStats.p50, rawStats.p50));
      context.record(info('turn latency p99', 'ms', oursStats.p99, rawStats.p99));
      context.record(info('platform overhead per turn, p50', 'ms', overheadStats.p50));
      context.record(info('platform overhead per turn, mean', 'ms', overhead.reduce((sum, ms) => sum + ms, 0) / Math.max(1, overhead.length)));
      context.record(info('platform overhead per turn, p99', 'ms', overheadStats.p99));
      context.record(info('platform overhead at turn 1, p50', 'ms', atTurn(1)));
      context.record(info(`platform overhead at turn ${TURNS}, p50`, 'ms', atTurn(TURNS)));
      context.record(info('the same inputs as plain runs (no thread): overhead per run, p50', 'ms', summarize(plainOverhead).p50));
      context.note(
        `${conversations.length} conversations of ${TURNS} turns (after one warm-up conversation), one at a time, one turn at a time; ours: POST /threads/{id}/runs sent → run.completed received on socket.io, through agent-api, the run queue, one coordinator (the llm kind calls the stand-in), the thread's load and turn record (SQLite), the gateway; baseline: the very model requests the platform made, replayed by the bench process straight to the stand-in; overhead = ours − baseline, per turn`,
      );
    } finally {
      await model.close();
    }
  },
};
