import type { RunEventV1 } from '@skreaver/contracts';
import type Redis from 'ioredis';

import { percentile, wallMs } from './stats';

/** The instants of one run's way, in wall-clock ms of this machine (every process reads the same clock). */
interface RunInstants {
  /** The bench sent the POST. */
  sent: number;
  /** `run.queued`'s `ts`: agent-api stored the run and logged it. */
  queued?: number;
  /** The bench got the 202 (shown apart: the run goes on whether or not the answer has arrived). */
  answered?: number;
  /**
   * The run queue's instant: the stream queue's entry id (Redis's clock when the job was added), or with
   * `RUN_QUEUE=bullmq` BullMQ's `processedOn` (a coordinator's worker took the job).
   */
  picked?: number;
  /** `run.started`'s `ts`: the coordinator read the run and marked it running. */
  started?: number;
  /** `run.completed`'s `ts`: the result was stored and the event is being appended. */
  completed?: number;
  /** `run.completed` reached the bench's socket. */
  delivered?: number;
}

/** Which run queue the services use (`RUN_QUEUE`), so which instant `picked` is. */
export type TracedQueue = 'streams' | 'bullmq';

type Segment = readonly [name: string, from: keyof RunInstants, to: keyof RunInstants];

/** The consecutive parts of POST sent → `run.completed` on a socket; their sum is the run's latency. */
function segments(queue: TracedQueue): readonly Segment[] {
  return [
    ['sent → queued (agent-api: auth, run stored, run.queued)', 'sent', 'queued'],
    queue === 'streams'
      ? ['queued → enqueued (admission + job added to the stream)', 'queued', 'picked']
      : ['queued → picked (admission + job add + waiting for a worker)', 'queued', 'picked'],
    queue === 'streams'
      ? ['enqueued → started (waiting for a worker, run/agent/log read, marked running)', 'picked', 'started']
      : ['picked → started (run/agent/log read, marked running)', 'picked', 'started'],
    ['started → completed (run.started logged, agent ran, result stored)', 'started', 'completed'],
    ['completed → delivered (run.completed appended, gateway, socket)', 'completed', 'delivered'],
  ];
}

/**
 * Where a run's latency goes: timestamps along the path (the bench's own clock at both ends, the events' `ts` and the
 * job's `processedOn` in between, all millisecond-resolution wall clock), summarised per segment for all runs and for
 * the slowest ones, which is what the p99 is made of.
 */
export class RunPathTrace {
  private readonly runs = new Map<string, RunInstants>();

  constructor(private readonly queue: TracedQueue) {}
  /** Events that beat their run's 202 to the bench, with when they arrived. */
  private readonly early = new Map<string, { event: RunEventV1; at: number }[]>();

  /** The POST for `runId` was sent at `sent` (wallMs) and answered now. */
  answered(runId: string, sent: number): void {
    const instants: RunInstants = { sent, answered: wallMs() };
    this.runs.set(runId, instants);
    for (const { event, at } of this.early.get(runId) ?? []) this.record(instants, event, at);
    this.early.delete(runId);
  }

  /** An event of a traced run arrived on the socket now. */
  event(event: RunEventV1): void {
    const at = wallMs();
    const instants = this.runs.get(event.run_id);
    if (instants) return this.record(instants, event, at);
    const pending = this.early.get(event.run_id) ?? [];
    pending.push({ event, at });
    this.early.set(event.run_id, pending);
  }

  reset(): void {
    this.runs.clear();
    this.early.clear();
  }

  /**
   * Reads each traced job's instant from its hash (`jobKey`), pipelined: the stream queue's entry id `e` (whose first
   * part is Redis's ms clock when the job was added), or BullMQ's `processedOn`.
   */
  async readPicked(redis: Redis, jobKey: (runId: string) => string): Promise<void> {
    const field = this.queue === 'streams' ? 'e' : 'processedOn';
    const ids = [...this.runs.keys()];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const pipeline = redis.pipeline();
      for (const id of chunk) pipeline.hget(jobKey(id), field);
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((id, index) => {
        const value = replies[index]?.[1];
        const instants = this.runs.get(id);
        if (instants && typeof value === 'string') instants.picked = Number(value.split('-')[0]);
      });
    }
  }

  /** One line per segment: p50 / p99 over all complete runs, and the mean over the slowest 1 % and 5 % of them. */
  summary(): string[] {
    const complete = [...this.runs.values()].filter(
      (r): r is Required<RunInstants> => segments(this.queue).every(([, from, to]) => r[from] !== undefined && r[to] !== undefined) && r.answered !== undefined,
    );
    if (complete.length === 0) return ['path: no run was traced end to end'];
    const total = (r: Required<RunInstants>) => r.delivered - r.sent;
    const bySpeed = [...complete].sort((a, b) => total(b) - total(a));
    const slowest = (share: number) => bySpeed.slice(0, Math.max(1, Math.round(complete.length * share)));
    const mean = (runs: Required<RunInstants>[], of: (r: Required<RunInstants>) => number) => runs.reduce((sum, r) => sum + of(r), 0) / runs.length;
    const row = (name: string, of: (r: Required<RunInstants>) => number) => {
      const values = complete.map(of);
      return `${name}: p50 ${fmt(percentile(values, 50))}, p99 ${fmt(percentile(values, 99))}; mean of the slowest 1 % ${fmt(mean(slowest(0.01), of))}, 5 % ${fmt(mean(slowest(0.05), of))} ms`;
    };
    return [
      `path (${complete.length} runs at the fixed rate; ms-resolution timestamps, so each part is ±1 ms):`,
      ...segments(this.queue).map(([name, from, to]) => row(`  ${name}`, (r) => r[to] - r[from])),
      row('  total (sent → delivered)', total),
      row('  (sent → 202 received, for reference)', (r) => r.answered - r.sent),
    ];
  }

  private record(instants: RunInstants, event: RunEventV1, at: number): void {
    const ts = Date.parse(event.ts);
    if (event.type === 'run.queued') instants.queued = ts;
    else if (event.type === 'run.started') instants.started ??= ts;
    else if (event.type === 'run.completed') {
      instants.completed = ts;
      instants.delivered = at;
    }
  }
}

function fmt(ms: number): string {
  return ms.toFixed(1);
}
