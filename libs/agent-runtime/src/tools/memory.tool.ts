import { JsonValue, MEMORY_TTL_MAX_SECONDS, MemoryKey } from '@skreaver/contracts';
import { z } from 'zod';

import { MemoryUnavailableError } from '../memory-store';
import { ToolError, defineTool } from './tool-definition';

function unavailable(error: unknown): never {
  // The store's own refusals (a value too large, a full memory) keep their codes.
  if (error instanceof ToolError) throw error;
  if (error instanceof MemoryUnavailableError) throw new ToolError('memory_unavailable', error.message);
  // The store is a database: an outage is worth retrying.
  throw new ToolError('memory_error', error instanceof Error ? error.message : String(error), true);
}

/** `memory_get`: reads a value from the agent's own memory. */
export const memoryGetTool = defineTool({
  name: 'memory_get',
  description: "Reads the value stored under a key in this agent's memory; found is false when there is none.",
  inputSchema: z.strictObject({ key: MemoryKey }),
  async run(input, context) {
    const value = await context.memory.get(input.key).catch(unavailable);
    return value === undefined ? { key: input.key, found: false, value: null } : { key: input.key, found: true, value };
  },
});

/** `memory_put`: stores a value in the agent's own memory. */
export const memoryPutTool = defineTool({
  name: 'memory_put',
  description: "Stores a JSON value under a key in this agent's memory (replacing any previous value), optionally expiring after ttl_seconds.",
  inputSchema: z.strictObject({
    key: MemoryKey,
    value: JsonValue,
    ttl_seconds: z.number().int().min(1).max(MEMORY_TTL_MAX_SECONDS).optional(),
  }),
  async run(input, context) {
    await context.memory.put(input.key, input.value, { ttlSeconds: input.ttl_seconds }).catch(unavailable);
    return { key: input.key, stored: true };
  },
});
