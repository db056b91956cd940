import { AgentConcurrency, AgentStatusReport, CreateAgentRequest, DEFAULT_CONCURRENCY, ListAgentsQuery, UpdateAgentRequest } from './agents';

const AGENT_ID = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';
const CREATED_AT = '2025-06-01T12:00:00.000Z';
const PARALLEL_ONLY = 'max_concurrency above 1 needs policy "parallel"';

function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'support-bot', kind: 'echo', ...overrides };
}

describe('CreateAgentRequest', () => {
  it('should trim the name', () => {
    const parsed = CreateAgentRequest.parse(body({ name: '  support-bot \n' }));

    expect(parsed.name).toBe('support-bot');
  });

  it('should default config to an empty object and concurrency to one run at a time, enqueued', () => {
    expect(CreateAgentRequest.parse(body())).toEqual({
      name: 'support-bot',
      kind: 'echo',
      config: {},
      concurrency: { policy: 'enqueue', max_concurrency: 1 },
    });
  });

  it('should keep a given JSON config', () => {
    const config = { greeting: 'hi', retries: 2, tags: ['a', null], nested: { on: true } };

    expect(CreateAgentRequest.parse(body({ config })).config).toEqual(config);
  });

  it('should keep a given concurrency', () => {
    const concurrency = { policy: 'parallel', max_concurrency: 8 };

    expect(CreateAgentRequest.parse(body({ concurrency })).concurrency).toEqual(concurrency);
  });

  it('should fill in the parts of concurrency left out', () => {
    expect(CreateAgentRequest.parse(body({ concurrency: { policy: 'reject' } })).concurrency).toEqual({ policy: 'reject', max_concurrency: 1 });
  });

  it.each([
    ['a blank name', { name: '   ' }, 'name'],
    ['a missing name', { name: undefined }, 'name'],
    ['a name longer than 128 characters', { name: 'x'.repeat(129) }, 'name'],
    ['a kind that is not a kind name', { kind: 'Summarizer!' }, 'kind'],
    ['a config that is an array', { config: [1, 2] }, 'config'],
    ['a config that is not an object', { config: 'verbose' }, 'config'],
    ['a config holding a non-JSON value', { config: { when: new Date(0) } }, 'config'],
    ['an unknown concurrency policy', { concurrency: { policy: 'round-robin' } }, 'concurrency'],
    ['several runs at once without policy parallel', { concurrency: { policy: 'enqueue', max_concurrency: 2 } }, 'concurrency'],
  ])('should reject %s', (_label, overrides, field) => {
    const result = CreateAgentRequest.safeParse(body(overrides));

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path[0])).toContain(field);
  });

  it('should accept a name of exactly 128 characters once trimmed', () => {
    expect(CreateAgentRequest.safeParse(body({ name: ` ${'x'.repeat(128)} ` })).success).toBe(true);
  });

  it('should reject unknown keys instead of stripping them', () => {
    const result = CreateAgentRequest.safeParse(body({ tenant_id: 'other' }));

    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['tenant_id'] })]);
  });
});

describe('AgentConcurrency', () => {
  it('should default to the one-at-a-time enqueue policy', () => {
    expect(AgentConcurrency.parse({})).toEqual(DEFAULT_CONCURRENCY);
    expect(DEFAULT_CONCURRENCY).toEqual({ policy: 'enqueue', max_concurrency: 1 });
  });

  it.each(['enqueue', 'reject', 'interrupt', 'parallel'] as const)('should accept policy %s with one run at a time', (policy) => {
    expect(AgentConcurrency.parse({ policy, max_concurrency: 1 })).toEqual({ policy, max_concurrency: 1 });
  });

  it.each([2, 16, 1_000])('should accept policy parallel with max_concurrency %d', (max) => {
    expect(AgentConcurrency.parse({ policy: 'parallel', max_concurrency: max })).toEqual({ policy: 'parallel', max_concurrency: max });
  });

  it.each([
    ['enqueue', { policy: 'enqueue', max_concurrency: 2 }],
    ['reject', { policy: 'reject', max_concurrency: 4 }],
    ['interrupt', { policy: 'interrupt', max_concurrency: 3 }],
    ['the default policy', { max_concurrency: 2 }],
  ])('should refuse max_concurrency above 1 with %s', (_label, value) => {
    const result = AgentConcurrency.safeParse(value);

    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['max_concurrency'], message: PARALLEL_ONLY })]);
  });

  it.each([
    ['0', { policy: 'parallel', max_concurrency: 0 }],
    ['above 1000', { policy: 'parallel', max_concurrency: 1_001 }],
    ['fractional', { policy: 'parallel', max_concurrency: 1.5 }],
    ['a string', { policy: 'parallel', max_concurrency: '2' }],
  ])('should reject a max_concurrency that is %s', (_label, value) => {
    const result = AgentConcurrency.safeParse(value);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['max_concurrency']);
  });

  it('should reject an unknown policy', () => {
    const result = AgentConcurrency.safeParse({ policy: 'fifo' });

    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['policy']]);
  });

  it('should reject unknown keys', () => {
    const result = AgentConcurrency.safeParse({ policy: 'parallel', max_concurrency: 2, burst: 4 });

    expect(result.error?.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['burst'] })]);
  });
});

describe('UpdateAgentRequest', () => {
  it.each([
    ['a name', { name: 'renamed' }],
    ['a config', { config: { greeting: 'hello' } }],
    ['an empty config', { config: {} }],
    ['a concurrency', { concurrency: { policy: 'parallel', max_concurrency: 3 } }],
    ['everything', { name: 'renamed', config: { a: 1 }, concurrency: { policy: 'reject', max_concurrency: 1 } }],
  ])('should accept %s', (_label, value) => {
    expect(UpdateAgentRequest.parse(value)).toEqual(value);
  });

  it('should trim the name', () => {
    expect(UpdateAgentRequest.parse({ name: '  renamed  ' })).toEqual({ name: 'renamed' });
  });

  it('should keep a partial concurrency partial, to be merged with the agent\'s current policy', () => {
    expect(UpdateAgentRequest.parse({ concurrency: { policy: 'interrupt' } })).toEqual({ concurrency: { policy: 'interrupt' } });
    expect(UpdateAgentRequest.parse({ concurrency: { max_concurrency: 8 } })).toEqual({ concurrency: { max_concurrency: 8 } });
  });

  it.each([
    ['an empty body', {}],
    ['only undefined fields', { name: undefined, config: undefined }],
  ])('should refuse %s: nothing to update', (_label, value) => {
    const result = UpdateAgentRequest.safeParse(value);

    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([expect.objectContaining({ path: [], message: 'nothing to update' })]);
  });

  it.each([
    ['a blank name', { name: '  ' }, 'name'],
    ['a config that is an array', { config: [1] }, 'config'],
    ['a null config', { config: null }, 'config'],
    ['an unknown policy', { concurrency: { policy: 'sometimes' } }, 'concurrency'],
    ['an unknown concurrency field', { concurrency: { burst: 2 } }, 'concurrency'],
  ])('should reject %s', (_label, value, field) => {
    const result = UpdateAgentRequest.safeParse(value);

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path[0])).toContain(field);
  });

  it.each(['kind', 'tenant_id', 'status'])('should refuse to change %s', (key) => {
    const result = UpdateAgentRequest.safeParse({ name: 'renamed', [key]: 'x' });

    expect(result.error?.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: [key] })]);
  });
});

describe('ListAgentsQuery', () => {
  it('should default limit to 100 and leave the filters unset', () => {
    expect(ListAgentsQuery.parse({})).toEqual({ limit: 100 });
  });

  it('should keep every filter and coerce the query string limit', () => {
    const query = { kind: 'echo', status: 'running', name: 'bot', limit: '25', cursor: 'eyJpZCI6IjEifQ_-' };

    expect(ListAgentsQuery.parse(query)).toEqual({ ...query, limit: 25 });
  });

  it.each(['1', '500'])('should accept the limit %j', (limit) => {
    expect(ListAgentsQuery.parse({ limit }).limit).toBe(Number(limit));
  });

  it.each(['0', '501', '2.5', 'all', ''])('should reject the limit %j', (limit) => {
    const result = ListAgentsQuery.safeParse({ limit });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['limit']);
  });

  it.each([
    ['a kind that is not a kind name', { kind: 'Summarizer!' }, 'kind'],
    ['an unknown status', { status: 'busy' }, 'status'],
    ['an empty name', { name: '' }, 'name'],
    ['a name longer than 128 characters', { name: 'x'.repeat(129) }, 'name'],
  ])('should reject %s', (_label, value, field) => {
    expect(ListAgentsQuery.safeParse(value).error?.issues[0]?.path).toEqual([field]);
  });

  it.each([
    ['empty', ''],
    ['with a slash', 'abc/def'],
    ['with padding', 'abc='],
    ['longer than 200 characters', 'a'.repeat(201)],
  ])('should reject a cursor %s', (_label, cursor) => {
    const result = ListAgentsQuery.safeParse({ cursor });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('a cursor from next_cursor');
  });

  it('should reject unknown query parameters', () => {
    expect(ListAgentsQuery.safeParse({ offset: '10' }).success).toBe(false);
  });
});

describe('AgentStatusReport', () => {
  function report(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      agent_id: AGENT_ID,
      kind: 'echo',
      status: 'running',
      created_at: CREATED_AT,
      last_activity: CREATED_AT,
      queue_depth: 3,
      active_runs: 1,
      concurrency: { policy: 'enqueue', max_concurrency: 1 },
      ...overrides,
    };
  }

  it('should accept a well-formed report', () => {
    expect(AgentStatusReport.parse(report())).toEqual(report());
  });

  it('should accept an agent that never ran and has nothing waiting', () => {
    expect(AgentStatusReport.safeParse(report({ status: 'idle', last_activity: null, queue_depth: 0, active_runs: 0 })).success).toBe(true);
  });

  it.each([
    ['a negative queue_depth', { queue_depth: -1 }, 'queue_depth'],
    ['a fractional active_runs', { active_runs: 0.5 }, 'active_runs'],
    ['a missing concurrency', { concurrency: undefined }, 'concurrency'],
    ['an invalid concurrency', { concurrency: { policy: 'reject', max_concurrency: 5 } }, 'concurrency'],
    ['an agent id that is not a UUID', { agent_id: 'bot-1' }, 'agent_id'],
    ['an unknown status', { status: 'busy' }, 'status'],
  ])('should reject %s', (_label, overrides, field) => {
    const result = AgentStatusReport.safeParse(report(overrides));

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path[0])).toContain(field);
  });
});
