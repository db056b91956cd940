import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AgentPluginError, unavailableMemoryStore } from '@skreaver/agent-runtime';
import type { JsonValue } from '@skreaver/contracts';
import { ConfigError, defineConfig } from '@skreaver/config';
import { ToolMetrics, createAgentRegistry, createAgentRunner, runExecutionEnv } from '../src';

const RunExecutionConfig = defineConfig(runExecutionEnv);

// How the environment of a process executing runs becomes its agent kinds, limits and network policy.
describe('agent runtime from the run execution config', () => {
  let dir: string;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skreaver-coordinator-plugins-'));
    writeFileSync(
      join(dir, 'reverse.js'),
      `const { z } = require(${JSON.stringify(require.resolve('zod'))});
exports.reverse = { kind: 'reverse', description: 'reverses text', configSchema: z.object({}), run: async (input) => String(input).split('').reverse().join('') };
`,
    );
    server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"pong":true}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((resolve) => server.close(resolve));
  });

  function runOnce(env: Record<string, string>, kind: string, config: Record<string, JsonValue>, input: JsonValue) {
    const loaded = RunExecutionConfig.load(env);
    const runner = createAgentRunner(loaded, createAgentRegistry(loaded), unavailableMemoryStore, new ToolMetrics());
    return runner.run({ agentId: 'a', runId: 'r', tenantId: 'default', attempt: 1, kind, config, input, signal: new AbortController().signal });
  }

  it('should install the plugins of SKREAVER_AGENT_PLUGINS next to the built-in kinds', async () => {
    const registry = createAgentRegistry(RunExecutionConfig.load({ SKREAVER_AGENT_PLUGINS: ` ${join(dir, 'reverse.js')} ,` }));

    expect(registry.kinds()).toEqual(['echo', 'llm', 'reverse', 'tool', 'webhook']);
    expect(await runOnce({ SKREAVER_AGENT_PLUGINS: join(dir, 'reverse.js') }, 'reverse', {}, 'abc')).toBe('cba');
  });

  it('should stop the boot with a message naming a plugin that cannot be loaded', () => {
    expect(() => createAgentRegistry(RunExecutionConfig.load({ SKREAVER_AGENT_PLUGINS: join(dir, 'missing.js') }))).toThrow(AgentPluginError);
  });

  it.each([
    ['SKREAVER_TOOLS_ALLOWED_NETWORKS', '10.0.0.0/40'],
    ['SKREAVER_LLM_BASE_URL', 'ftp://models'],
    ['RUN_MAX_STEPS', '0'],
  ])('should refuse a bad %s at boot', (name, value) => {
    expect(() => RunExecutionConfig.load({ [name]: value })).toThrow(ConfigError);
  });

  it('should apply the default limits from RUN_* variables', async () => {
    await expect(runOnce({ RUN_TIMEOUT_MS: '20' }, 'echo', { delay_ms: 1_000 }, 1)).rejects.toMatchObject({ code: 'run_timeout' });
  });

  it('should refuse loopback to tools by default and allow it through SKREAVER_TOOLS_ALLOWED_NETWORKS', async () => {
    const steps = [{ tool: 'http_request', input: { url }, continue_on_error: true }];

    expect(await runOnce({}, 'tool', { steps, output: '{{steps.0.error.code}}' }, null)).toBe('address_refused');
    expect(await runOnce({ SKREAVER_TOOLS_ALLOWED_NETWORKS: '127.0.0.1/32' }, 'tool', { steps }, null)).toMatchObject({ status: 200, body: { pong: true } });
    expect(await runOnce({ SKREAVER_TOOLS_HTTP_DENY_DOMAINS: '127.0.0.1', SKREAVER_TOOLS_ALLOW_PRIVATE_NETWORKS: 'true' }, 'tool', { steps, output: '{{steps.0.error.code}}' }, null)).toBe('domain_refused');
  });
});
