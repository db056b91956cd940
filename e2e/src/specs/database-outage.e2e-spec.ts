import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { Agent, AgentStatusReport, Run, RunEventV1 } from '@skreaver/contracts';
import { privatePostgres, waitFor } from '@skreaver/testing';
import type { PrivatePostgres } from '@skreaver/testing';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

// Traffic: a run of the 1 s agent every 50 ms (20 runs/s) and of the one-at-a-time agent every 250 ms, for this long.
const TRAFFIC_MS = 12_000;
const OUTAGE_AT_MS = 2_000;
const OUTAGE_MS = 8_000;
// What a request may answer while the database is down: a clean, retryable refusal with a stable code.
const OUTAGE_CODES = ['database_unavailable'];

interface Submission {
  agent: 'busy' | 'serial';
  status: number;
  run?: Run;
  code?: string;
  at: number;
}

type Outage = { begin(): Promise<void>; end(): Promise<void> };

const run = promisify(execFile);

// The first issue under faults: stop the database while runs execute and stream in. Every run the API accepted must
// complete exactly once after it returns, with no attempt spent on the outage, and every admission slot given back,
// so an agent with the `enqueue` policy keeps running. Once with PostgreSQL killed (`pg_ctl -m immediate`) and
// restarted, once with the SQLite file made unwritable (every write fails with SQLITE_IOERR) and writable again.
describe.each(['postgres', 'sqlite'] as const)('database outage (%s)', (kind) => {
  let postgres: PrivatePostgres | undefined;
  let stack: Stack;
  let outage: Outage;
  let unlock: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (kind === 'postgres') postgres = await privatePostgres();
    stack = await startStack({
      database: kind,
      postgresUrl: postgres?.url,
      env: {
        RUN_WORKER_CONCURRENCY: '64',
        SKREAVER_RATE_LIMIT_PER_SUBJECT: '0',
        SKREAVER_RATE_LIMIT_PER_IP: '0',
        // The reconciler is the backstop; this test shows runs survive without it having to step in.
        RUN_RECONCILE_INTERVAL_MS: '2000',
      },
    });
    if (postgres) {
      const server = postgres;
      outage = { begin: () => server.kill(), end: () => server.start() };
    } else {
      // Root ignores file modes, so the database file and its WAL are made immutable: every write of the services
      // fails at once with SQLITE_IOERR while reads go on (the shared-memory index must stay writable).
      const files = ['skreaver.sqlite', 'skreaver.sqlite-wal'].map((name) => join(stack.database.dataDir, name));
      outage = {
        begin: async () => void (await run('chattr', ['+i', ...files])),
        end: async () => void (await run('chattr', ['-i', ...files])),
      };
      unlock = () => run('chattr', ['-i', ...files]).then(() => undefined);
    }
  }, 90_000);

  afterAll(async () => {
    try {
      await unlock?.().catch(() => undefined);
      await stack?.stop();
    } finally {
      await postgres?.cleanup();
    }
  }, 60_000);

  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => call<T>(stack.api.url, method, path, body);

  async function agent(name: string, delayMs: number, concurrency: Agent['concurrency']): Promise<Agent> {
    const created = await api<Agent>('POST', '/agents', { name, kind: 'echo', config: { delay_ms: delayMs }, concurrency });
    expect(created.status).toBe(201);
    return created.body;
  }

  it('should complete every accepted run exactly once after the database returns and give every slot back', async () => {
    const busy = await agent('busy', 1_000, { policy: 'parallel', max_concurrency: 64 });
    const serial = await agent('serial', 100, { policy: 'enqueue', max_concurrency: 1 });
    const started = Date.now();
    const submissions: Promise<Submission>[] = [];
    const submit = (which: 'busy' | 'serial', target: Agent, n: number) =>
      submissions.push(
        (async () => {
          const response = await api<Run & { error?: string }>('POST', `/agents/${target.id}/runs`, { input: { n } });
          return response.status === 202
            ? { agent: which, status: response.status, run: response.body, at: Date.now() - started }
            : { agent: which, status: response.status, code: response.body.error, at: Date.now() - started };
        })(),
      );

    let outageBegan = 0;
    let outageEnded = 0;
    const faults = (async () => {
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_AT_MS));
      await outage.begin();
      outageBegan = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      await outage.end();
      outageEnded = Date.now();
    })();
    for (let n = 0; Date.now() - started < TRAFFIC_MS; n += 1) {
      submit('busy', busy, n);
      if (n % 5 === 0) submit('serial', serial, n);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await faults;
    const outcomes = await Promise.all(submissions);

    // Every answer was an acceptance or a clean refusal naming the database.
    const refused = outcomes.filter((outcome) => outcome.status !== 202);
    for (const outcome of refused) {
      expect(outcome).toMatchObject({ status: 503, code: expect.stringMatching(new RegExp(`^(${OUTAGE_CODES.join('|')})$`)) });
    }
    const accepted = outcomes.flatMap((outcome) => (outcome.run ? [outcome.run] : []));
    expect(accepted.length).toBeGreaterThan(20);
    expect(refused.length).toBeGreaterThan(0);

    // Every accepted run completes, once, with no attempt lost to the outage.
    const finished = await waitFor(
      async () => {
        const runs = await Promise.all(accepted.map(async (run) => (await api<Run>('GET', `/runs/${run.id}`)).body));
        return runs.every((run) => ['completed', 'failed', 'cancelled'].includes(run.status)) ? runs : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'every accepted run to finish' },
    );
    const drainedMs = Date.now() - outageEnded;
    let openAtOutage = 0;
    for (const run of finished) {
      expect(run).toMatchObject({ status: 'completed', attempts: 1, output: { n: expect.any(Number) } });
      if (Date.parse(run.created_at) < outageBegan && Date.parse(run.finished_at ?? '') > outageBegan) openAtOutage += 1;
      const log = (await api<{ items: RunEventV1[] }>('GET', `/runs/${run.id}/events?limit=100`)).body.items;
      expect(log.map((event) => event.type)).toEqual(['run.queued', 'run.started', 'run.completed']);
    }
    expect(openAtOutage).toBeGreaterThan(0);

    // No slot stays taken: the one-at-a-time agent still runs new work.
    for (const target of [busy, serial]) {
      await waitFor(
        async () => {
          const status = (await api<AgentStatusReport>('GET', `/agents/${target.id}/status`)).body;
          return status.active_runs === 0 && status.queue_depth === 0;
        },
        { timeoutMs: 10_000, what: `${target.name}'s slots to be free` },
      );
    }
    const after = await api<Run>('POST', `/agents/${serial.id}/runs?wait=10`, { input: { n: -1 } });
    expect(after.body).toMatchObject({ status: 'completed', output: { n: -1 } });

    process.stdout.write(
      `database outage (${kind}): ${((outageEnded - outageBegan) / 1000).toFixed(1)} s; ${accepted.length} runs accepted, ` +
        `${refused.length} requests refused with 503; ${openAtOutage} runs were queued or running when it began; ` +
        `all completed exactly once, the last ${(drainedMs / 1000).toFixed(1)} s after the database returned\n`,
    );
  }, 150_000);
});
