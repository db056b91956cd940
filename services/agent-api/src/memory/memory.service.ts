import { Inject, Injectable } from '@nestjs/common';
import { memoryValueSizeBytes } from '@skreaver/contracts';
import type { MemoryEntry, MemoryListQuery, MemoryPage, PutMemoryRequest } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { AgentMemoryRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

import { AgentsService } from '../agents/agents.service';
import { databaseCall } from '../database-call';
import { MEMORY_CONFIG } from './memory.config';
import type { MemoryConfig } from './memory.config';

/**
 * An agent's key-value memory: reads see live entries only (an expired one answers 404 and is purged on the spot),
 * writes are held to the value size and key count limits.
 */
@Injectable()
export class MemoryService {
  constructor(
    private readonly agents: AgentsService,
    private readonly memory: AgentMemoryRepository,
    @Inject(MEMORY_CONFIG) private readonly config: MemoryConfig,
  ) {}

  async list(tenantId: string, agentId: string, query: MemoryListQuery): Promise<MemoryPage> {
    await this.agents.get(tenantId, agentId);
    // One more than asked says whether another page follows, so the last page never points at an empty one.
    const entries = await databaseCall(() =>
      this.memory.list(tenantId, agentId, { prefix: query.prefix, after: query.after, limit: query.limit + 1, now: nowIso() }),
    );
    const items = entries.slice(0, query.limit);
    const last = items[items.length - 1];
    return { items, next_after: entries.length > query.limit && last ? last.key : null };
  }

  /** The live entry, or 404 `not_found` (for an unknown agent too). */
  async get(tenantId: string, agentId: string, key: string): Promise<MemoryEntry> {
    await this.agents.get(tenantId, agentId);
    const entry = await this.findLive(tenantId, agentId, key, nowIso());
    if (!entry) throw ApiError.notFound(`memory key ${key}`);
    return entry;
  }

  /**
   * Creates or replaces the entry (its TTL included: none when `ttl_seconds` is omitted).
   * 413 `memory_value_too_large` above the value size limit; 409 `memory_full` for a new key when the agent holds
   * the most live keys it may. Two concurrent writes of new keys may both pass the count: the limit is soft by
   * at most the number of writers racing for the last slot.
   */
  async put(tenantId: string, agentId: string, key: string, request: PutMemoryRequest): Promise<MemoryEntry> {
    const sizeBytes = memoryValueSizeBytes(request.value);
    const maxBytes = this.config.SKREAVER_MEMORY_MAX_VALUE_BYTES;
    if (sizeBytes > maxBytes) {
      throw new ApiError(413, 'memory_value_too_large', `The value is ${sizeBytes} bytes of JSON; at most ${maxBytes} are allowed`, {
        size_bytes: sizeBytes,
        max_bytes: maxBytes,
      });
    }
    await this.agents.get(tenantId, agentId);
    const now = new Date();
    const at = now.toISOString();
    if (!(await this.findLive(tenantId, agentId, key, at))) {
      const maxKeys = this.config.SKREAVER_MEMORY_MAX_KEYS;
      const live = await databaseCall(() => this.memory.countLive(tenantId, agentId, at));
      if (live >= maxKeys) {
        throw new ApiError(409, 'memory_full', `Agent ${agentId} already holds ${live} memory keys; at most ${maxKeys} are allowed`, {
          max_keys: maxKeys,
        });
      }
    }
    const expiresAt = request.ttl_seconds === undefined ? null : new Date(now.getTime() + request.ttl_seconds * 1000).toISOString();
    const stored = await databaseCall(() => this.memory.put(tenantId, agentId, { key, value: request.value, at, expires_at: expiresAt }));
    // Null when the agent was deleted since the check above.
    if (!stored) throw ApiError.notFound(`agent ${agentId}`);
    return stored;
  }

  /** Deletes the live entry, or 404 `not_found`. */
  async delete(tenantId: string, agentId: string, key: string): Promise<void> {
    await this.agents.get(tenantId, agentId);
    const entry = await this.findLive(tenantId, agentId, key, nowIso());
    // A concurrent delete may win between the read and this one: then this caller's answer is 404 too.
    const deleted = entry ? await databaseCall(() => this.memory.delete(tenantId, agentId, key)) : false;
    if (!deleted) throw ApiError.notFound(`memory key ${key}`);
  }

  private async findLive(tenantId: string, agentId: string, key: string, now: string): Promise<MemoryEntry | null> {
    const entry = await databaseCall(() => this.memory.get(tenantId, agentId, key));
    // ISO-8601 UTC strings of one format compare like the instants they name.
    if (entry && entry.expires_at !== null && entry.expires_at <= now) {
      // Invisible already; purged now rather than at the next sweep. Conditional, so a concurrent rewrite survives.
      await databaseCall(() => this.memory.deleteExpired(tenantId, agentId, key, now));
      return null;
    }
    return entry;
  }
}
