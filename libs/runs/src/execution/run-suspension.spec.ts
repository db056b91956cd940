import type { RequestedInput } from '@skreaver/agent-runtime';

import { pendingInputsOf } from './run-suspension';

describe(pendingInputsOf.name, () => {
  it('should give each input its expiry and store a plugin’s values as JSON', () => {
    const requested: RequestedInput[] = [
      { id: 'input_1', kind: 'input', prompt: 'When?', schema: { type: 'string', description: undefined } as never, timeout_seconds: 60, default: new Date(0) as never },
      { id: 'input_2', kind: 'approval', prompt: 'Allow?', tool: 'math', tool_input: { expression: '1+1' }, timeout_seconds: 1.5 },
    ];

    expect(pendingInputsOf(requested, Date.parse('2026-01-01T00:00:00.000Z'))).toEqual([
      { id: 'input_1', kind: 'input', prompt: 'When?', schema: { type: 'string' }, expires_at: '2026-01-01T00:01:00.000Z', default: '1970-01-01T00:00:00.000Z' },
      { id: 'input_2', kind: 'approval', prompt: 'Allow?', tool: 'math', tool_input: { expression: '1+1' }, expires_at: '2026-01-01T00:00:01.500Z' },
    ]);
  });
});
