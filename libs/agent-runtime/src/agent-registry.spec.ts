import { z } from 'zod';

import { defineAgent } from './agent-definition';
import { AgentConfigError } from './agent-errors';
import { AgentRegistry } from './agent-registry';
import { echoAgent } from './kinds/echo.agent';

function rejectionOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const greeter = defineAgent({
  kind: 'greeter',
  description: 'greets',
  configSchema: z.strictObject({ greeting: z.string(), loud: z.boolean().default(false) }),
  run: async (input, context) => `${context.config.greeting} ${JSON.stringify(input)}`,
});

describe(AgentRegistry.name, () => {
  it('should install the built-in kinds by default', () => {
    const sut = new AgentRegistry();

    expect(sut.kinds()).toEqual(['echo', 'llm', 'tool', 'webhook']);
    expect(sut.has('echo')).toBe(true);
    expect(sut.has('summarizer')).toBe(false);
  });

  it('should refuse two definitions of one kind', () => {
    expect(() => new AgentRegistry([echoAgent, { ...echoAgent }])).toThrow('agent kind "echo" is defined twice');
  });

  it('should resolve a kind with its parsed config and no shared sections', () => {
    const resolved = new AgentRegistry([greeter]).resolve('greeter', { greeting: 'hi' });

    expect(resolved.definition).toBe(greeter);
    expect(resolved.config).toEqual({ greeting: 'hi', loud: false });
    expect(resolved.shared).toEqual({});
  });

  it("should take limits, tools and http out of the config before the kind's schema sees it", () => {
    const config = {
      greeting: 'hi',
      limits: { timeout_ms: 500, max_steps: 3 },
      tools: ['math'],
      http: { allow_domains: ['example.com'] },
    };

    const resolved = new AgentRegistry([greeter]).resolve('greeter', config);

    expect(resolved.config).toEqual({ greeting: 'hi', loud: false });
    expect(resolved.shared).toEqual({ limits: { timeout_ms: 500, max_steps: 3 }, tools: ['math'], http: { allow_domains: ['example.com'] } });
  });

  it('should report a kind that is not installed with the installed ones', () => {
    const error = rejectionOf(() => new AgentRegistry([echoAgent]).resolve('summarizer', {}));

    expect(error).toBeInstanceOf(AgentConfigError);
    expect(error).toMatchObject({ kind: 'summarizer', message: 'no agent kind "summarizer" is installed (installed: echo)' });
    expect(new AgentRegistry([echoAgent]).validateConfig('summarizer', {})).toMatchObject({ success: false });
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'verbose'],
    ['an unknown key', { verbose: true }],
    ['a negative delay', { delay_ms: -1 }],
  ])("should reject %s as echo's config", (_label, config) => {
    expect(() => new AgentRegistry().resolve('echo', config)).toThrow(AgentConfigError);
    expect(new AgentRegistry().validateConfig('echo', config).success).toBe(false);
  });

  it("should reject a config that fails its kind's schema, naming the field", () => {
    const error = rejectionOf(() => new AgentRegistry([greeter]).resolve('greeter', { greeting: 42 }));

    expect(error).toMatchObject({ name: 'AgentConfigError', kind: 'greeter', message: expect.stringMatching(/^invalid greeter config: .*greeting/s) });
  });

  it.each([
    ['a limit below its minimum', { limits: { timeout_ms: 0 } }, ['limits', 'timeout_ms']],
    ['an unknown limit', { limits: { max_memory: 1 } }, ['limits']],
    ['a tool name that is not one', { tools: ['Not A Tool'] }, ['tools', 0]],
    ['a domain that is not one', { http: { deny_domains: ['http://x/'] } }, ['http', 'deny_domains', 0]],
  ])('should reject %s in the shared sections with its path', (_label, config, path) => {
    const result = new AgentRegistry().validateConfig('echo', config);

    expect(result.success).toBe(false);
    expect(result.success ? [] : result.error.issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it('should accept the shared sections on any kind, even one with a strict schema', () => {
    expect(new AgentRegistry().validateConfig('echo', { delay_ms: 5, limits: { max_output_bytes: 10 }, tools: [] })).toEqual({ success: true });
  });
});

describe(defineAgent.name, () => {
  it('should return the definition it was given', () => {
    expect(defineAgent(echoAgent)).toBe(echoAgent);
  });
});
