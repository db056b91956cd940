import { RunEventV1, isTerminalEvent, runEventId } from './run-event.v1';
import type { RunEventOf, RunEventType } from './run-event.v1';

const RUN_ID = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';
const AGENT_ID = '9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e';

const DATA: { [T in RunEventType]: RunEventOf<T>['data'] } = {
  'run.queued': { input: { question: 'ping' } },
  'run.started': { attempt: 1, worker: 'coordinator-1' },
  'run.step': { attempt: 1, step: 1, name: 'llm', detail: { model: 'small' } },
  'tool.call': { attempt: 1, call_id: 'c1', tool: 'math', input: { expression: '1+1' } },
  'tool.result': { attempt: 1, call_id: 'c1', tool: 'math', ok: true, duration_ms: 0.4, result: { value: 2 } },
  'run.output': { attempt: 1, index: 0, output: 'partial answer' },
  'message.delta': { attempt: 1, step: 1, index: 0, text: 'Hel' },
  'run.completed': { output: ['pong'], duration_ms: 12.5 },
  'run.failed': { code: 'agent_error', message: 'boom', attempt: 2, final: false },
  'run.cancelled': { reason: 'user asked', by: 'api' },
  'run.waiting_input': {
    attempt: 1,
    pending_inputs: [{ id: 'input_1', kind: 'input', prompt: 'Which city?', schema: { type: 'string' }, expires_at: '2025-06-01T13:00:00.000Z' }],
  },
  'run.resumed': { input_ids: ['input_1'], by: 'api-key:ops' },
};

function eventOf<T extends RunEventType>(type: T, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: runEventId(RUN_ID, 3),
    run_id: RUN_ID,
    agent_id: AGENT_ID,
    tenant_id: 'default',
    seq: 3,
    ts: '2025-06-01T12:00:00.000Z',
    type,
    data: DATA[type],
    ...overrides,
  };
}

const TYPES = Object.keys(DATA) as RunEventType[];

describe('RunEventV1', () => {
  it.each(TYPES)('should accept a well-formed %s event', (type) => {
    const event = eventOf(type);

    expect(RunEventV1.parse(event)).toEqual(event);
  });

  it.each<[string, RunEventType, unknown]>([
    ['run.queued without input', 'run.queued', {}],
    ['run.queued with a non-JSON input', 'run.queued', { input: Number.NaN }],
    ['run.started without worker', 'run.started', { attempt: 1 }],
    ['run.started with attempt 0', 'run.started', { attempt: 0, worker: 'w' }],
    ['run.started with a fractional attempt', 'run.started', { attempt: 1.5, worker: 'w' }],
    ['run.completed without output', 'run.completed', { duration_ms: 1 }],
    ['run.completed with a negative duration', 'run.completed', { output: 1, duration_ms: -1 }],
    ['run.failed without final', 'run.failed', { code: 'x', message: 'y', attempt: 1 }],
    ['run.failed with a string final', 'run.failed', { code: 'x', message: 'y', attempt: 1, final: 'yes' }],
    ['run.cancelled without reason', 'run.cancelled', { by: 'api' }],
    ['run.cancelled without by', 'run.cancelled', { reason: 'user asked' }],
    ['run.cancelled with a numeric reason', 'run.cancelled', { reason: 42, by: 'api' }],
    ['run.queued redriven from something that is not a run id', 'run.queued', { input: 1, redriven_from: 'run-1' }],
    ['run.step with step 0', 'run.step', { attempt: 1, step: 0, name: 'llm' }],
    ['run.step without a name', 'run.step', { attempt: 1, step: 1 }],
    ['tool.call without the tool', 'tool.call', { attempt: 1, call_id: 'c1', input: {} }],
    ['tool.result without ok', 'tool.result', { attempt: 1, call_id: 'c1', tool: 'math', duration_ms: 1 }],
    ['tool.result with a negative duration', 'tool.result', { attempt: 1, call_id: 'c1', tool: 'math', ok: true, duration_ms: -1 }],
    ['tool.result with an error lacking a code', 'tool.result', { attempt: 1, call_id: 'c1', tool: 'm', ok: false, duration_ms: 1, error: { message: 'x' } }],
    ['run.output without an index', 'run.output', { attempt: 1, output: 'x' }],
    ['message.delta without an index', 'message.delta', { attempt: 1, text: 'x' }],
    ['message.delta with a negative index', 'message.delta', { attempt: 1, index: -1, text: 'x' }],
    ['message.delta with empty text', 'message.delta', { attempt: 1, index: 0, text: '' }],
    ['message.delta with step 0', 'message.delta', { attempt: 1, step: 0, index: 0, text: 'x' }],
    ['message.delta without the attempt', 'message.delta', { index: 0, text: 'x' }],
    ['tool.call marked replayed: false (absent when not replayed)', 'tool.call', { attempt: 1, call_id: 'c1', tool: 'math', input: {}, replayed: false }],
  ])('should reject %s', (_label, type, data) => {
    const result = RunEventV1.safeParse(eventOf(type, { data }));

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path[0]).toBe('data');
  });

  it("should check data against the shape of the event's own type", () => {
    expect(RunEventV1.safeParse(eventOf('run.completed', { data: DATA['run.started'] })).success).toBe(false);
    expect(RunEventV1.safeParse(eventOf('run.cancelled', { data: DATA['run.failed'] })).success).toBe(false);
  });

  it('should accept a run.queued event that links a redriven run', () => {
    const data = { input: 1, redriven_from: AGENT_ID };

    expect(RunEventV1.parse(eventOf('run.queued', { data }))).toMatchObject({ data });
  });

  it('should accept a failed tool.result carrying an error instead of a result', () => {
    const data = { attempt: 2, call_id: 'c9', tool: 'http_request', ok: false, duration_ms: 3, error: { code: 'address_refused', message: 'no' } };

    expect(RunEventV1.parse(eventOf('tool.result', { data }))).toMatchObject({ data });
  });

  it.each<RunEventType>(['run.step', 'tool.call', 'tool.result'])('should accept a %s replayed from the run journal', (type) => {
    const data = { ...DATA[type], replayed: true };

    expect(RunEventV1.parse(eventOf(type, { data }))).toMatchObject({ data });
  });

  it('should accept an empty cancellation reason', () => {
    expect(RunEventV1.safeParse(eventOf('run.cancelled', { data: { reason: '', by: 'policy:interrupt' } })).success).toBe(true);
  });

  it('should reject an unknown type', () => {
    expect(RunEventV1.safeParse(eventOf('run.queued', { type: 'run.paused' })).success).toBe(false);
  });

  it.each([
    ['without a seq', RUN_ID],
    ['with a non-numeric seq', `${RUN_ID}:three`],
    ['with a short run id', 'run-1:3'],
    ['with upper-case hex', `${RUN_ID.toUpperCase()}:3`],
    ['with a trailing suffix', `${RUN_ID}:3:x`],
  ])('should reject an id %s', (_label, id) => {
    const result = RunEventV1.safeParse(eventOf('run.queued', { id }));

    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['id']);
  });

  it.each([
    ['seq 0', { seq: 0 }, 'seq'],
    ['a fractional seq', { seq: 1.5 }, 'seq'],
    ['a run_id that is not a UUID', { run_id: 'run-1' }, 'run_id'],
    ['an upper-case tenant', { tenant_id: 'Default' }, 'tenant_id'],
    ['a timestamp with an offset', { ts: '2025-06-01T12:00:00.000+02:00' }, 'ts'],
  ])('should reject %s', (_label, overrides, field) => {
    const result = RunEventV1.safeParse(eventOf('run.started', overrides));

    expect(result.error?.issues.map((issue) => issue.path[0])).toEqual([field]);
  });
});

describe(runEventId.name, () => {
  it('should join the run id and the seq with a colon', () => {
    expect(runEventId(RUN_ID, 42)).toBe(`${RUN_ID}:42`);
  });

  it('should build ids the event schema accepts', () => {
    expect(RunEventV1.safeParse(eventOf('run.queued', { id: runEventId(RUN_ID, 1), seq: 1 })).success).toBe(true);
  });
});

describe(isTerminalEvent.name, () => {
  function parsed(type: RunEventType, data: unknown = DATA[type]): RunEventV1 {
    return RunEventV1.parse(eventOf(type, { data }));
  }

  it.each(['run.completed', 'run.cancelled'] as const)('should treat %s as the end of the log', (type) => {
    expect(isTerminalEvent(parsed(type))).toBe(true);
  });

  it('should treat a final run.failed as the end of the log', () => {
    expect(isTerminalEvent(parsed('run.failed', { ...DATA['run.failed'], final: true }))).toBe(true);
  });

  it('should not treat a non-final run.failed as the end of the log (a retry follows)', () => {
    expect(isTerminalEvent(parsed('run.failed', { ...DATA['run.failed'], final: false }))).toBe(false);
  });

  it.each(['run.queued', 'run.started', 'run.step', 'tool.call', 'tool.result', 'run.output', 'message.delta'] as const)('should not treat %s as the end of the log', (type) => {
    expect(isTerminalEvent(parsed(type))).toBe(false);
  });
});

