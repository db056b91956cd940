import type { ApiErrorBody, Run, RunEventV1, RunEventsPage } from '@skreaver/contracts';
import { waitFor } from '@skreaver/testing';

import { call } from './api-client';
import type { Stack } from './stack';

// Past this a request counts as hung (a Redis failover must not hold a request for longer).
const REQUEST_TIMEOUT_MS = 10_000;
// What a request may answer while Redis fails over: a clean, retryable refusal, never a 500.
const OUTAGE_CODES = ['redis_unavailable', 'queue_unavailable'];
const TERMINAL = ['completed', 'failed', 'cancelled'];

/** One POST /agents/{id}/runs of a `RunLoad` and how it ended. */
export interface LoadOutcome {
  startedAt: number;
  tookMs: number;
  status: number | 'hung' | 'network_error';
  runId?: string;
  error?: string;
}

/** Runs created back to back by a few concurrent senders, each outcome recorded, until `stop()`. */
export interface RunLoad {
  readonly outcomes: LoadOutcome[];
  /** The POSTs answered 202 (accepted runs). */
  accepted(): LoadOutcome[];
  /** Resolves once `count` runs sent from now on were accepted. */
  acceptMore(count: number, what: string, timeoutMs?: number): Promise<void>;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<void>;
}

/** Starts `senders` loops each POSTing a run of `agentId`, `pauseMs` after the last answer, to the stack's agent-api. */
export function startRunLoad(stack: Stack, agentId: string, { senders = 4, pauseMs = 20 } = {}): RunLoad {
  const outcomes: LoadOutcome[] = [];
  let sending = true;
  let sequence = 0;
  const sendOne = async (n: number): Promise<void> => {
    const outcome: LoadOutcome = { startedAt: performance.now(), tookMs: 0, status: 'network_error' };
    try {
      const response = await fetch(`${stack.api.url}/agents/${agentId}/runs`, {
        method: 'POST',
        headers: { 'x-api-key': stack.adminKey, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { n } }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const answer = (await response.json()) as Partial<ApiErrorBody> & { id?: string };
      outcome.status = response.status;
      outcome.error = answer.error;
      if (response.status === 202) outcome.runId = answer.id;
    } catch (error) {
      outcome.status = error instanceof Error && error.name === 'TimeoutError' ? 'hung' : 'network_error';
      outcome.error = String(error);
    }
    outcome.tookMs = performance.now() - outcome.startedAt;
    outcomes.push(outcome);
  };
  const sender = async () => {
    while (sending) {
      await sendOne(++sequence);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const traffic = Promise.all(Array.from({ length: senders }, sender));
  const accepted = () => outcomes.filter((o) => o.status === 202 && o.runId !== undefined);
  return {
    outcomes,
    accepted,
    async acceptMore(count, what, timeoutMs = 30_000) {
      const from = performance.now();
      await waitFor(() => accepted().filter((o) => o.startedAt >= from).length >= count, { timeoutMs, what });
    },
    async stop() {
      sending = false;
      await traffic;
    },
  };
}

/** Waits until every run of `runIds` has a terminal status (the database is the record) and returns them. */
export async function settledRuns(stack: Stack, runIds: string[], timeoutMs = 60_000): Promise<Run[]> {
  let pending: Run[] = [];
  return waitFor(
    async () => {
      const runs = await Promise.all(runIds.map(async (runId) => (await call<Run>(stack.api.url, 'GET', `/runs/${runId}`)).body));
      pending = runs.filter((run) => !TERMINAL.includes(run.status));
      return pending.length === 0 ? runs : undefined;
    },
    { timeoutMs, intervalMs: 500, what: 'every accepted run to reach a terminal status' },
  ).catch((error: Error) => {
    const sample = pending.slice(0, 5).map((run) => `${run.id} ${run.status} created ${run.created_at}`);
    throw new Error(`${error.message}: ${pending.length} of ${runIds.length} still pending, e.g.\n${sample.join('\n')}`);
  });
}

/** How many completed runs' logs miss run.started/run.completed or hold an event type twice (an echo run logs each once). */
export async function lifecycleGaps(
  stack: Stack,
  runs: Run[],
): Promise<{ runsMissingEvents: number; eventsMissing: number; runsWithDuplicates: number; eventsDuplicated: number }> {
  const gaps = { runsMissingEvents: 0, eventsMissing: 0, runsWithDuplicates: 0, eventsDuplicated: 0 };
  for (const run of runs.filter((r) => r.status === 'completed')) {
    const page = await call<RunEventsPage>(stack.api.url, 'GET', `/runs/${run.id}/events?limit=100`);
    const types = page.body.items.map((event: RunEventV1) => event.type);
    const counts = new Map<string, number>();
    for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
    const missing = ['run.started', 'run.completed'].filter((type) => !counts.has(type)).length;
    const extra = [...counts.values()].reduce((sum, count) => sum + count - 1, 0);
    if (missing > 0) gaps.runsMissingEvents += 1;
    gaps.eventsMissing += missing;
    if (extra > 0) gaps.runsWithDuplicates += 1;
    gaps.eventsDuplicated += extra;
  }
  return gaps;
}

/** Outcomes counted by status (and error code), for the printed summary. */
export function statusCounts(list: LoadOutcome[]): Record<string, number> {
  return list.reduce<Record<string, number>>((counts, o) => {
    const key = `${o.status}${o.error ? ` ${o.error.slice(0, 40)}` : ''}`;
    return { ...counts, [key]: (counts[key] ?? 0) + 1 };
  }, {});
}

/** Outcomes that are neither accepted nor a clean 503 Redis-outage refusal: a 500, a hang, a dropped connection. */
export function unexpectedOutcomes(outcomes: LoadOutcome[]): LoadOutcome[] {
  return outcomes.filter((o) => o.status !== 202 && !(o.status === 503 && OUTAGE_CODES.includes(o.error ?? '')));
}
