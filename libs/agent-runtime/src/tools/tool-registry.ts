import type { ToolDescriptor } from '@skreaver/contracts';
import { z } from 'zod';

import type { ToolDefinition } from './tool-definition';

/** The tools a process offers, by name. */
export class ToolRegistry {
  private readonly tools = new Map<string, ToolDefinition<unknown>>();

  /** @throws Error when two tools share a name. */
  constructor(definitions: readonly ToolDefinition<unknown>[]) {
    for (const definition of definitions) {
      if (this.tools.has(definition.name)) throw new Error(`tool "${definition.name}" is defined twice`);
      this.tools.set(definition.name, definition);
    }
  }

  get(name: string): ToolDefinition<unknown> | undefined {
    return this.tools.get(name);
  }

  /** Tool names in order. */
  names(): string[] {
    return [...this.tools.keys()].sort();
  }

  /** Each tool's name, description and input JSON Schema (generated from its zod schema), in name order. */
  describe(names: readonly string[] = this.names()): ToolDescriptor[] {
    return names.flatMap((name) => {
      const tool = this.tools.get(name);
      return tool ? [{ name, description: tool.description, input_schema: inputJsonSchema(tool) }] : [];
    });
  }
}

const schemas = new WeakMap<object, Record<string, unknown>>();

/** The JSON Schema of a tool's input as callers send it (defaults optional), computed once per tool. */
export function inputJsonSchema(tool: ToolDefinition<unknown>): Record<string, unknown> {
  const cached = schemas.get(tool);
  if (cached) return cached;
  const schema = z.toJSONSchema(tool.inputSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  schemas.set(tool, schema);
  return schema;
}
