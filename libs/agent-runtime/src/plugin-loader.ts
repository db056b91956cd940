import { createRequire } from 'node:module';
import { join } from 'node:path';

import { AgentKind } from '@skreaver/contracts';

import type { AgentDefinition } from './agent-definition';

/** A plugin that could not be loaded, or exports no usable agent definition. */
export class AgentPluginError extends Error {
  constructor(
    readonly specifier: string,
    message: string,
  ) {
    super(`agent plugin "${specifier}": ${message}`);
    this.name = 'AgentPluginError';
  }
}

/** The comma-separated module list of `SKREAVER_AGENT_PLUGINS`, trimmed, empties dropped. */
export function parsePluginList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** Whether `value` has the shape of an `AgentDefinition` (duck-typed: a plugin may bundle its own zod and runtime). */
function isDefinition(value: unknown): value is AgentDefinition<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof AgentDefinition, unknown>>;
  const schema = candidate.configSchema as { safeParse?: unknown } | undefined;
  return (
    typeof candidate.kind === 'string' &&
    typeof candidate.description === 'string' &&
    typeof candidate.run === 'function' &&
    typeof schema?.safeParse === 'function'
  );
}

function definitionsIn(exported: unknown): AgentDefinition<unknown>[] {
  const found = new Set<AgentDefinition<unknown>>();
  const visit = (value: unknown, depth: number) => {
    if (isDefinition(value)) found.add(value);
    else if (Array.isArray(value)) value.forEach((item) => visit(item, depth));
    else if (depth === 0 && typeof value === 'object' && value !== null) Object.values(value).forEach((item) => visit(item, depth + 1));
  };
  // The module itself may be a definition (module.exports = …), or export them by name, as default, or in arrays.
  visit(exported, 0);
  return [...found];
}

/**
 * Loads agent plugins: each specifier is a path (relative to `cwd`) or a package name, resolved like `require` from
 * `cwd`, and must export one or more `defineAgent()` definitions (CommonJS, or ESM without top-level await).
 * @throws AgentPluginError naming the plugin that cannot be loaded, exports nothing usable, or has a bad kind name.
 */
export function loadAgentPlugins(specifiers: readonly string[], cwd: string = process.cwd()): AgentDefinition<unknown>[] {
  const load = createRequire(join(cwd, 'noop.js'));
  const definitions: AgentDefinition<unknown>[] = [];
  for (const specifier of specifiers) {
    let exported: unknown;
    try {
      exported = load(load.resolve(specifier));
    } catch (error) {
      throw new AgentPluginError(specifier, `cannot be loaded: ${error instanceof Error ? error.message : String(error)}`);
    }
    const found = definitionsIn(exported);
    if (found.length === 0) {
      throw new AgentPluginError(specifier, 'exports no agent definition (an object with kind, description, configSchema and run, e.g. from defineAgent())');
    }
    for (const definition of found) {
      const kind = AgentKind.safeParse(definition.kind);
      if (!kind.success) throw new AgentPluginError(specifier, `"${definition.kind}" is not a valid kind name (${kind.error.issues[0]?.message ?? 'invalid'})`);
    }
    definitions.push(...found);
  }
  return definitions;
}
