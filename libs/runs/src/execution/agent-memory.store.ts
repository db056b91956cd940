import { Inject, Injectable } from '@nestjs/common';
import { ToolError } from '@skreaver/agent-runtime';
import type { MemoryPutOptions, MemoryStore } from '@skreaver/agent-runtime';
import { memoryValueSizeBytes } from '@skreaver/contracts';
import type { JsonValue } from '@skreaver/contracts';
import { AgentMemoryRepository } from '@skreaver/persistence';

import { RUN_EXECUTION_CONFIG } from './run-execution.tokens';
import type { RunExecutionConfig } from './run-execution.config';

/**
 * Agent memory as the `memory_get` / `memory_put` tools see it: the same entries as `/agents/{id}/memory`, under the
 * same rules (expired entries are invisible; the value size and key count limits of agent-api, from the same
 * variables). A refused write is a `ToolError` with agent-api's error code.
 */
@Injectable()
export class AgentMemoryStore implements MemoryStore {
  constructor(
    private readonly memory: AgentMemoryRepository,
    @Inject(RUN_EXECUTION_CONFIG) private readonly config: Pick<RunExecutionConfig, 'SKREAVER_MEMORY_MAX_VALUE_BYTES' | 'SKREAVER_MEMORY_MAX_KEYS'>,
  ) {}

  async get(tenantId: string, agentId: string, key: string): Promise<JsonValue | undefined> {
    const entry = await this.memory.get(tenantId, agentId, key);
    // ISO-8601 UTC strings of one format compare like the instants they name.
    if (!entry || (entry.expires_at !== null && entry.expires_at <= new Date().toISOString())) return undefined;
    return entry.value;
  }

  async put(tenantId: string, agentId: string, key: string, value: JsonValue, options: MemoryPutOptions = {}): Promise<void> {
    const sizeBytes = memoryValueSizeBytes(value);
    const maxBytes = this.config.SKREAVER_MEMORY_MAX_VALUE_BYTES;
    if (sizeBytes > maxBytes) throw new ToolError('memory_value_too_large', `the value is ${sizeBytes} bytes of JSON; at most ${maxBytes} are allowed`);
    const now = new Date();
    const at = now.toISOString();
    if ((await this.get(tenantId, agentId, key)) === undefined) {
      // Soft by the number of concurrent writers of new keys, as in agent-api.
      const live = await this.memory.countLive(tenantId, agentId, at);
      if (live >= this.config.SKREAVER_MEMORY_MAX_KEYS) {
        throw new ToolError('memory_full', `the agent already holds ${live} memory keys; at most ${this.config.SKREAVER_MEMORY_MAX_KEYS} are allowed`);
      }
    }
    const expiresAt = options.ttlSeconds === undefined ? null : new Date(now.getTime() + options.ttlSeconds * 1000).toISOString();
    await this.memory.put(tenantId, agentId, { key, value, at, expires_at: expiresAt });
  }
}
