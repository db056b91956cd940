import {
  BatchRequest,
  CancelRunRequest,
  CreateRunQuery,
  CreateRunRequest,
  IdempotencyKey,
  MAX_BATCH_INPUTS,
  MAX_WAIT_SECONDS,
  ObserveRequest,
  Run,
  RunEventsQuery,
} from './runs';
import { ResumeRunRequest } from './run-inputs';

const RUN_ID = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';
const AGENT_ID = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';
const CREATED_AT = '2025-06-01T12:00:00.000Z';

function runRow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: RUN_ID,
    tenant_id: 'default',
    agent_id: AGENT_ID,
    status: 'queued',
    source: 'api',
    input: { question: 'ping' },
    output: null,
    error: null,
    attempts: 0,
    idempotency_key: null,
    usage: null,
    thread_id: null,
    created_at: CREATED_AT,
    started_at: null,
    finished_at: null,
    pending_inputs: [],
    ...overrides,
  };
}

describe('CreateRunRequest', () => {
  it.each([
    ['null', null],
    ['an empty array', []],
    ['a mixed array', [1, 'two', { three: [true] }]],
    ['an object', { question: 'ping', context: { depth: 2 } }],
    ['a string', 'hello'],
    ['zero', 0],
    ['false', false],
  ])('should accept %s as input', (_label, input) => {
    expect(CreateRunRequest.parse({ input })).toEqual({ input });
  });

  it.each([
    ['a missing input', {}],
    ['an undefined input', { input: undefined }],
    ['NaN', { input: Number.NaN }],
    ['Infinity', { input: Number.POSITIVE_INFINITY }],
    ['a function', { input: () => 'x' }],
    ['a Date', { input: new Date(0) }],
    ['a nested undefined', { input: { a: [undefined] } }],
  ])('should reject %s', (_label, value) => {
    expect(CreateRunRequest.safeParse(value).success).toBe(false);
  });

  it('should reject unknown keys', () => {
    const result = CreateRunRequest.safeParse({ input: 1, priority: 'high' });

    expect(result.error?.issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['priority'] })]);
  });
});

describe('RunEventsQuery', () => {
  it('should default limit to 100 and leave after unset', () => {
    expect(RunEventsQuery.parse({})).toEqual({ limit: 100 });
  });

  it.each([
    ['1', 1],
    ['50', 50],
    ['1000', 1000],
    [' 7 ', 7],
  ])('should coerce the query string limit %j to %d', (limit, expected) => {
    expect(RunEventsQuery.parse({ limit }).limit).toBe(expected);
  });

  it.each(['0', '-1', '1001', '1.5', 'ten', ''])('should reject the limit %j', (limit) => {
    const result = RunEventsQuery.safeParse({ limit });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['limit']);
  });

  it('should accept an event id as after', () => {
    expect(RunEventsQuery.parse({ after: `${RUN_ID}:12` })).toEqual({ after: `${RUN_ID}:12`, limit: 100 });
  });

  it.each([
    ['a bare run id', RUN_ID],
    ['a non-numeric seq', `${RUN_ID}:x`],
    ['an upper-case id', `${RUN_ID.toUpperCase()}:1`],
    ['a short id', 'abc:1'],
    ['a stream entry id', '0-12'],
  ])('should reject %s as after', (_label, after) => {
    const result = RunEventsQuery.safeParse({ after });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('an event id');
  });

  it('should reject unknown query parameters', () => {
    expect(RunEventsQuery.safeParse({ limit: '5', offset: '10' }).success).toBe(false);
  });
});

describe('Run', () => {
  it.each([
    ['without an idempotency key', null],
    ['with an idempotency key', 'order-42:attempt-1'],
  ])('should accept a run %s', (_label, key) => {
    expect(Run.parse(runRow({ idempotency_key: key }))).toEqual(runRow({ idempotency_key: key }));
  });

  it('should accept a cancelled run', () => {
    const cancelled = runRow({ status: 'cancelled', error: { code: 'cancelled', message: 'user asked' }, finished_at: CREATED_AT });

    expect(Run.safeParse(cancelled).success).toBe(true);
  });

  it('should require idempotency_key to be present (null when the client sent none)', () => {
    const result = Run.safeParse(runRow({ idempotency_key: undefined }));

    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['idempotency_key']]);
  });
});

describe('CreateRunQuery', () => {
  it('should leave wait unset by default', () => {
    expect(CreateRunQuery.parse({})).toEqual({});
  });

  it.each([
    ['0', 0],
    ['2.5', 2.5],
    [String(MAX_WAIT_SECONDS), MAX_WAIT_SECONDS],
  ])('should coerce the query string wait %j to %d seconds', (wait, expected) => {
    expect(CreateRunQuery.parse({ wait })).toEqual({ wait: expected });
  });

  it.each(['-1', String(MAX_WAIT_SECONDS + 1), 'forever'])('should reject the wait %j', (wait) => {
    const result = CreateRunQuery.safeParse({ wait });

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['wait']);
  });

  it('should reject unknown query parameters', () => {
    expect(CreateRunQuery.safeParse({ wait: '1', timeout: '5' }).success).toBe(false);
  });
});

describe('IdempotencyKey', () => {
  it.each([
    ['a UUID', RUN_ID],
    ['a single character', 'k'],
    ['printable punctuation', 'order#42/retry:1~!'],
    ['255 characters', 'k'.repeat(255)],
  ])('should accept %s', (_label, key) => {
    expect(IdempotencyKey.parse(key)).toBe(key);
  });

  it.each([
    ['an empty key', ''],
    ['a key with a space', 'order 42'],
    ['a key with a tab', 'order\t42'],
    ['a non-ASCII key', 'commande-é'],
    ['a key with a control character', 'order\u000042'],
  ])('should reject %s', (_label, key) => {
    const result = IdempotencyKey.safeParse(key);

    expect(result.success).toBe(false);
  });

  it('should reject a key longer than 255 characters', () => {
    expect(IdempotencyKey.safeParse('k'.repeat(256)).success).toBe(false);
  });
});

describe('ObserveRequest', () => {
  it('should accept an input without a timeout', () => {
    expect(ObserveRequest.parse({ input: { question: 'ping' } })).toEqual({ input: { question: 'ping' } });
  });

  it.each([0.1, 30, MAX_WAIT_SECONDS])('should accept a timeout of %d seconds', (timeout) => {
    expect(ObserveRequest.parse({ input: 'x', timeout_seconds: timeout }).timeout_seconds).toBe(timeout);
  });

  it.each([
    ['a missing input', { timeout_seconds: 5 }, 'input'],
    ['a non-JSON input', { input: Number.NaN }, 'input'],
    ['a timeout below 0.1 seconds', { input: 1, timeout_seconds: 0.05 }, 'timeout_seconds'],
    ['a timeout above the longest wait', { input: 1, timeout_seconds: MAX_WAIT_SECONDS + 1 }, 'timeout_seconds'],
    ['a timeout given as a string (bodies are not coerced)', { input: 1, timeout_seconds: '5' }, 'timeout_seconds'],
  ])('should reject %s', (_label, value, field) => {
    expect(ObserveRequest.safeParse(value).error?.issues[0]?.path).toEqual([field]);
  });

  it('should reject unknown keys', () => {
    expect(ObserveRequest.safeParse({ input: 1, stream: true }).error?.issues).toEqual([
      expect.objectContaining({ code: 'unrecognized_keys', keys: ['stream'] }),
    ]);
  });
});

describe('BatchRequest', () => {
  it('should accept one input', () => {
    expect(BatchRequest.parse({ inputs: ['ping'] })).toEqual({ inputs: ['ping'] });
  });

  it(`should accept ${MAX_BATCH_INPUTS} inputs of any JSON kind, with a timeout`, () => {
    const inputs = Array.from({ length: MAX_BATCH_INPUTS }, (_, index) => (index % 2 === 0 ? { n: index } : [index, null]));

    expect(BatchRequest.parse({ inputs, timeout_seconds: 10 })).toEqual({ inputs, timeout_seconds: 10 });
  });

  it.each([
    ['no inputs', { inputs: [] }, 'inputs'],
    [`more than ${MAX_BATCH_INPUTS} inputs`, { inputs: Array.from({ length: MAX_BATCH_INPUTS + 1 }, () => 1) }, 'inputs'],
    ['a missing inputs', {}, 'inputs'],
    ['inputs that are not an array', { inputs: { a: 1 } }, 'inputs'],
    ['a non-JSON input', { inputs: [1, Number.POSITIVE_INFINITY] }, 'inputs'],
    ['a timeout of 0', { inputs: [1], timeout_seconds: 0 }, 'timeout_seconds'],
    ['a timeout above the longest wait', { inputs: [1], timeout_seconds: MAX_WAIT_SECONDS + 1 }, 'timeout_seconds'],
  ])('should reject %s', (_label, value, field) => {
    const result = BatchRequest.safeParse(value);

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe(field);
  });

  it('should reject unknown keys', () => {
    expect(BatchRequest.safeParse({ inputs: [1], parallel: true }).success).toBe(false);
  });
});

describe('CancelRunRequest', () => {
  it.each([
    ['a missing body', undefined],
    ['an empty body', {}],
  ])('should accept %s, leaving the reason unset', (_label, value) => {
    expect(CancelRunRequest.parse(value)).toEqual({});
  });

  it('should keep a given reason', () => {
    expect(CancelRunRequest.parse({ reason: 'superseded by a newer request' })).toEqual({ reason: 'superseded by a newer request' });
  });

  it('should accept a reason of exactly 500 characters', () => {
    expect(CancelRunRequest.safeParse({ reason: 'r'.repeat(500) }).success).toBe(true);
  });

  it.each([
    ['a reason longer than 500 characters', { reason: 'r'.repeat(501) }],
    ['a reason that is not a string', { reason: 42 }],
    ['unknown keys', { reason: 'x', force: true }],
    ['a null body', null],
  ])('should reject %s', (_label, value) => {
    expect(CancelRunRequest.safeParse(value).success).toBe(false);
  });
});

describe('Run waiting for input', () => {
  const pending = { id: 'input_1', kind: 'input', prompt: 'Which city?', schema: { type: 'string' }, expires_at: '2025-06-01T13:00:00.000Z' };

  it('should accept a waiting_input run with its pending inputs', () => {
    const row = runRow({ status: 'waiting_input', pending_inputs: [pending] });

    expect(Run.parse(row)).toEqual(row);
  });

  it('should default pending_inputs to none', () => {
    const { pending_inputs: _omitted, ...row } = runRow();

    expect(Run.parse(row).pending_inputs).toEqual([]);
  });

  it('should refuse an input id that is not input_<n>', () => {
    expect(Run.safeParse(runRow({ status: 'waiting_input', pending_inputs: [{ ...pending, id: 'anything' }] })).success).toBe(false);
  });
});

describe('ResumeRunRequest', () => {
  it.each([
    ['answers', { inputs: { input_1: 'Paris' } }],
    ['an approval', { approve: true }],
    ['a refusal with a reason', { approve: false, reason: 'too expensive' }],
  ])('should accept %s', (_label, body) => {
    expect(ResumeRunRequest.parse(body)).toEqual(body);
  });

  it.each([
    ['nothing', {}],
    ['both answers and a decision', { inputs: { input_1: 1 }, approve: true }],
    ['a reason without a decision', { inputs: { input_1: 1 }, reason: 'x' }],
    ['an unknown field', { approve: true, extra: 1 }],
    ['an input id that is not input_<n>', { inputs: { city: 'Paris' } }],
  ])('should refuse %s', (_label, body) => {
    expect(ResumeRunRequest.safeParse(body).success).toBe(false);
  });
});
