import type { Agent, Run } from '@skreaver/contracts';

/** Fixed ids and time of the contract factories, so specs can refer to them. */
export const FIXTURE_IDS: Readonly<{ tenant: string; agent: string; run: string; createdAt: string }> = {
  tenant: 'default',
  agent: '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e',
  run: '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f',
  createdAt: '2025-06-01T12:00:00.000Z',
};

/** An idle echo agent matching the `Agent` contract, with `overrides` applied. */
export function agentFixture(overrides: Partial<Agent> = {}): Agent {
  return {
    id: FIXTURE_IDS.agent,
    tenant_id: FIXTURE_IDS.tenant,
    name: 'support-bot',
    kind: 'echo',
    config: {},
    concurrency: { policy: 'enqueue', max_concurrency: 1 },
    status: 'idle',
    created_at: FIXTURE_IDS.createdAt,
    updated_at: FIXTURE_IDS.createdAt,
    last_activity: null,
    ...overrides,
  };
}

/** A queued run of the fixture agent matching the `Run` contract, with `overrides` applied. */
export function runFixture(overrides: Partial<Run> = {}): Run {
  return {
    id: FIXTURE_IDS.run,
    tenant_id: FIXTURE_IDS.tenant,
    agent_id: FIXTURE_IDS.agent,
    status: 'queued',
    source: 'api',
    input: { question: 'ping' },
    output: null,
    error: null,
    attempts: 0,
    idempotency_key: null,
    usage: null,
    thread_id: null,
    created_at: FIXTURE_IDS.createdAt,
    started_at: null,
    finished_at: null,
    pending_inputs: [],
    ...overrides,
  };
}
