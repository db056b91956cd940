import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { AgentPluginError, AgentRegistry, AgentRunner, builtInAgents, loadAgentPlugins, parsePluginList } from '../src';

// Plugins are plain modules on disk, written here the way a user would ship one: CommonJS requiring zod. (ES module
// plugins load through Node's require(esm), which Jest's module system does not offer: the e2e tier covers them.)
const ZOD = JSON.stringify(require.resolve('zod'));

describe(loadAgentPlugins.name, () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'skreaver-plugins-'));
    writeFileSync(
      join(dir, 'shouty.js'),
      `const { z } = require(${ZOD});
const shout = {
  kind: 'shout',
  description: 'upper-cases its input',
  configSchema: z.strictObject({ suffix: z.string().default('!') }),
  async run(input, context) {
    await context.emit({ type: 'step', name: 'shouting' });
    return String(input).toUpperCase() + context.config.suffix;
  },
};
const whisper = { ...shout, kind: 'whisper', async run(input) { return String(input).toLowerCase(); } };
module.exports = { shout, others: [whisper], default: shout };
`,
    );
    writeFileSync(join(dir, 'nothing.js'), 'module.exports = { answer: 42 };\n');
    writeFileSync(join(dir, 'bad-kind.js'), `const { z } = require(${ZOD});\nmodule.exports = { kind: 'Bad Kind', description: 'x', configSchema: z.object({}), run: async () => null };\n`);
    writeFileSync(join(dir, 'echo-again.js'), `const { z } = require(${ZOD});\nmodule.exports = { kind: 'echo', description: 'x', configSchema: z.object({}), run: async () => null };\n`);
    writeFileSync(join(dir, 'broken.js'), 'throw new Error("plugin exploded at load");\n');
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('should split SKREAVER_AGENT_PLUGINS on commas', () => {
    expect(parsePluginList(' ./a.js, ,/abs/b.js,pkg ')).toEqual(['./a.js', '/abs/b.js', 'pkg']);
    expect(parsePluginList(undefined)).toEqual([]);
  });

  it('should load every definition a module exports (named, in arrays, default) once, relative to cwd', () => {
    const definitions = loadAgentPlugins(['./shouty.js'], dir);

    expect(definitions.map((definition) => definition.kind)).toEqual(['shout', 'whisper']);
  });

  it('should run a plugin kind next to the built-ins, with its config validated by its own schema', async () => {
    const registry = new AgentRegistry([...builtInAgents(), ...loadAgentPlugins([join(dir, 'shouty.js')])]);
    const runner = new AgentRunner({ registry });

    expect(registry.kinds()).toEqual(['echo', 'llm', 'shout', 'tool', 'webhook', 'whisper']);
    expect(registry.validateConfig('shout', { suffix: 3 }).success).toBe(false);
    const output = await runner.run({ agentId: 'a', runId: 'r', tenantId: 't', attempt: 1, kind: 'shout', config: { suffix: '?!' }, input: 'hey', signal: new AbortController().signal });
    expect(output).toBe('HEY?!');
  });

  it.each([
    ['a missing module', './missing.js', /agent plugin ".\/missing.js": cannot be loaded: .*Cannot find module/],
    ['a module that throws', './broken.js', /cannot be loaded: plugin exploded at load/],
    ['a module without definitions', './nothing.js', /exports no agent definition/],
    ['a definition with a bad kind name', './bad-kind.js', /"Bad Kind" is not a valid kind name/],
  ])('should refuse %s with a message naming it', (_label, specifier, message) => {
    expect(() => loadAgentPlugins([specifier], dir)).toThrow(AgentPluginError);
    expect(() => loadAgentPlugins([specifier], dir)).toThrow(message);
  });

  it('should refuse a plugin that redefines a built-in kind', () => {
    expect(() => new AgentRegistry([...builtInAgents(), ...loadAgentPlugins(['./echo-again.js'], dir)])).toThrow('agent kind "echo" is defined twice');
  });
});
