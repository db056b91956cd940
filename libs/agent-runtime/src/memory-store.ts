import type { JsonValue } from '@skreaver/contracts';

/** Options of a memory write. */
export interface MemoryPutOptions {
  /** Seconds until the entry expires; none when left out. */
  ttlSeconds?: number;
}

/** Where agents' memory lives (the database in production); every call is scoped to one tenant's agent. */
export interface MemoryStore {
  /** The live value under `key`, or undefined when there is none (or it expired). */
  get(tenantId: string, agentId: string, key: string): Promise<JsonValue | undefined>;
  /** Stores `value` under `key`, replacing any previous value and TTL. */
  put(tenantId: string, agentId: string, key: string, value: JsonValue, options?: MemoryPutOptions): Promise<void>;
}

/** One agent's memory, as its run sees it. */
export interface AgentMemory {
  get(key: string): Promise<JsonValue | undefined>;
  put(key: string, value: JsonValue, options?: MemoryPutOptions): Promise<void>;
}

/** Raised by a store that cannot serve memory in this process. */
export class MemoryUnavailableError extends Error {
  constructor(message = 'agent memory is not available in this process') {
    super(message);
    this.name = 'MemoryUnavailableError';
  }
}

/** A store for processes without agent memory: every call fails (memory tools then give a failed result). */
export const unavailableMemoryStore: MemoryStore = {
  get: () => Promise.reject(new MemoryUnavailableError()),
  put: () => Promise.reject(new MemoryUnavailableError()),
};

/** `store` scoped to one agent. */
export function agentMemory(store: MemoryStore, tenantId: string, agentId: string): AgentMemory {
  return {
    get: (key) => store.get(tenantId, agentId, key),
    put: (key, value, options) => store.put(tenantId, agentId, key, value, options),
  };
}
