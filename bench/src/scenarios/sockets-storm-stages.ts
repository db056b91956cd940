// Where a reconnect storm's time goes: the stages of each resumed socket's reconnect (recorded by the client
// processes) as distributions, and how full the listen queues on the way got (sampled with `ss` during the storm).
import { execFile } from 'node:child_process';

import { percentile } from '../support/stats';
import type { ResumeStages } from './sockets-protocol';

const STAGES = ['dropped', 'firstAttempt', 'attempt', 'tcp', 'upgraded', 'open', 'connected', 'resumed'] as const;
type Stage = (typeof STAGES)[number];
const LABEL: Record<Stage, string> = {
  dropped: 'drop seen',
  firstAttempt: 'first connect attempt',
  attempt: 'attempt that resumed',
  tcp: 'TCP connected to nginx',
  upgraded: 'HTTP 101 (nginx reached the replica)',
  open: 'engine.io open',
  connected: 'socket.io connect (JWT ok)',
  resumed: 'subscribe with after acked',
};

const fmt = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms)}` : '–');
const summary = (values: number[]) => `${fmt(percentile(values, 50))} / ${fmt(percentile(values, 99))} / ${fmt(values.length ? Math.max(...values) : Number.NaN)}`;

/** Lines for the scenario's notes: each stage after the kill, each step's duration, and sockets per second at each stage. */
export function describeStages(stages: readonly ResumeStages[], killedAt: number): string[] {
  const lines: string[] = [];
  const afterKill = STAGES.map((stage) => `${LABEL[stage]} ${summary(stages.map((one) => one[stage] - killedAt))}`);
  lines.push(`storm stages, ms after the SIGKILL, p50 / p99 / max over ${stages.length} resumed sockets: ${afterKill.join('; ')}`);
  const steps = STAGES.slice(1).map((stage, i) => {
    const from = STAGES[i] as Stage;
    return `${LABEL[from]} → ${LABEL[stage]} ${summary(stages.map((one) => one[stage] - one[from]))}`;
  });
  lines.push(`storm steps, ms, p50 / p99 / max: ${steps.join('; ')}`);
  const attempts = stages.map((one) => one.attempts);
  lines.push(`storm attempts per resumed socket: 1 for ${attempts.filter((n) => n === 1).length}, 2 for ${attempts.filter((n) => n === 2).length}, more for ${attempts.filter((n) => n > 2).length}`);
  const seconds = Math.ceil(Math.max(0, ...stages.map((one) => one.resumed - killedAt)) / 1000);
  const perSecond = (stage: Stage) =>
    Array.from({ length: seconds }, (_, s) => stages.filter((one) => one[stage] - killedAt >= s * 1000 && one[stage] - killedAt < (s + 1) * 1000).length).join(' ');
  lines.push(`storm sockets per second after the kill reaching: attempt that resumed [${perSecond('attempt')}], TCP [${perSecond('tcp')}], HTTP 101 [${perSecond('upgraded')}], resumed [${perSecond('resumed')}]`);
  return lines;
}

/** Samples the accept queue (Recv-Q) of listeners on `ports` every `intervalMs` with `ss`, keeping the largest seen. */
export class ListenQueueSampler {
  readonly maxQueued = new Map<number, number>();
  readonly backlog = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly ports: readonly number[]) {}

  start(intervalMs = 200): void {
    this.timer = setInterval(() => this.sample(), intervalMs);
    // A failed storm must not keep the bench process alive.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    if (this.busy) return;
    this.busy = true;
    execFile('ss', ['-Hltn'], (error, stdout) => {
      this.busy = false;
      if (error) return;
      for (const line of stdout.split('\n')) {
        // State Recv-Q Send-Q Local:Port Peer:Port
        const [, recvQ, sendQ, local] = line.trim().split(/\s+/);
        const port = Number(local?.slice(local.lastIndexOf(':') + 1));
        if (!this.ports.includes(port)) continue;
        // nginx with reuseport has one listener per worker: the fullest of them counts.
        this.maxQueued.set(port, Math.max(this.maxQueued.get(port) ?? 0, Number(recvQ)));
        this.backlog.set(port, Number(sendQ));
      }
    });
  }

  describe(names: Record<number, string>): string {
    return this.ports.map((port) => `${names[port] ?? port}: largest accept queue seen ${this.maxQueued.get(port) ?? '–'} (backlog ${this.backlog.get(port) ?? '–'})`).join('; ');
  }
}
