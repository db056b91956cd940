import type { JsonValue } from '@skreaver/contracts';
import { z } from 'zod';

import { defineAgent } from './agent-definition';
import type { AgentContext } from './agent-definition';
import { AgentConfigError, AgentRegistry } from './agent-registry';
import type { RunRequest } from './agent-registry';
import { echoAgent } from './kinds/echo.agent';

function runRequest(overrides: Partial<RunRequest> = {}): RunRequest {
  return {
    agentId: 'agent-1',
    runId: 'run-1',
    tenantId: 'default',
    attempt: 1,
    kind: 'echo',
    config: {},
    input: { question: 'ping' },
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** An agent of kind `echo` with a real config schema that records the context it ran with. */
function recordingAgent() {
  const contexts: AgentContext<{ greeting: string; loud: boolean }>[] = [];
  const definition = defineAgent({
    kind: 'echo',
    description: 'greets',
    configSchema: z.object({ greeting: z.string(), loud: z.boolean().default(false) }),
    async run(input: JsonValue, context) {
      contexts.push(context);
      return { reply: `${context.config.greeting} ${JSON.stringify(input)}` };
    },
  });
  return { definition, contexts };
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe(AgentRegistry.name, () => {
  it('should install the echo agent by default', () => {
    expect(new AgentRegistry().has('echo')).toBe(true);
    expect(new AgentRegistry().has('summarizer')).toBe(false);
  });

  it('should answer an echo run with its input', async () => {
    const sut = new AgentRegistry();
    const input = { question: 'ping', history: [1, null, 'x'] };

    expect(await sut.run(runRequest({ input }))).toEqual(input);
  });

  it('should reject a kind that is not installed with an AgentConfigError', async () => {
    const sut = new AgentRegistry([]);

    const error = await rejectionOf(sut.run(runRequest()));

    expect(error).toBeInstanceOf(AgentConfigError);
    expect(error).toMatchObject({ name: 'AgentConfigError', kind: 'echo', message: 'no agent kind "echo" is installed' });
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', 'verbose'],
  ])("should reject %s as echo's config", async (_label, config) => {
    await expect(new AgentRegistry().run(runRequest({ config }))).rejects.toBeInstanceOf(AgentConfigError);
  });

  it("should reject a config that fails its kind's schema without running the agent", async () => {
    const { definition, contexts } = recordingAgent();
    const sut = new AgentRegistry([definition]);

    const error = await rejectionOf(sut.run(runRequest({ config: { greeting: 42 } })));

    expect(error).toBeInstanceOf(AgentConfigError);
    expect(error).toMatchObject({ kind: 'echo', message: expect.stringMatching(/^invalid echo config: .*greeting/s) });
    expect(contexts).toEqual([]);
  });

  it('should hand the agent the ids, the attempt, the signal and the parsed config', async () => {
    const { definition, contexts } = recordingAgent();
    const sut = new AgentRegistry([definition]);
    const controller = new AbortController();

    const output = await sut.run(
      runRequest({ agentId: 'a-9', runId: 'r-9', tenantId: 'acme', attempt: 3, config: { greeting: 'hi' }, input: 'x', signal: controller.signal }),
    );

    expect(output).toEqual({ reply: 'hi "x"' });
    expect(contexts).toHaveLength(1);
    expect(contexts[0]).toEqual({
      agentId: 'a-9',
      runId: 'r-9',
      tenantId: 'acme',
      attempt: 3,
      config: { greeting: 'hi', loud: false },
      signal: controller.signal,
    });
    expect(contexts[0]?.signal).toBe(controller.signal);
  });

  it("should let the agent's own error through unchanged", async () => {
    const failure = new Error('model overloaded');
    const sut = new AgentRegistry([
      defineAgent({ kind: 'echo', description: 'fails', configSchema: z.unknown(), run: () => Promise.reject(failure) }),
    ]);

    expect(await rejectionOf(sut.run(runRequest()))).toBe(failure);
  });
});

describe(defineAgent.name, () => {
  it('should return the definition it was given', () => {
    expect(defineAgent(echoAgent)).toBe(echoAgent);
  });
});
