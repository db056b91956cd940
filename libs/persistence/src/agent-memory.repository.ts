import { JsonValue, MemoryEntry, MemoryKey, Timestamp } from '@skreaver/contracts';

import { DataSource, ObjectLiteral, QueryResult } from 'typeorm';

import { AGENT_MEMORY_TABLE, AgentMemoryEntity } from './entities/agent-memory.entity';
import { fromJsonText, toJsonText } from './json-text';

/** One write of `AgentMemoryRepository.put`. */
export interface MemoryWrite {
  key: string;
  value: JsonValue;
  /** When the write happens: `updated_at`, and `created_at` of an entry that is new (or had expired). */
  at: string;
  /** When the entry stops being live; null: never. */
  expires_at: string | null;
}

/** Options of `AgentMemoryRepository.list`. */
export interface MemoryListOptions {
  /** Only keys starting with this text, compared literally (no wildcards). */
  prefix?: string;
  /** Only keys sorting after this one (the previous page's last key). */
  after?: string;
  limit: number;
  /** Entries with `expires_at <= now` are left out. */
  now: string;
}

type MemoryRow = Pick<AgentMemoryEntity, 'key' | 'value' | 'created_at' | 'updated_at' | 'expires_at'> & {
  // pg reads integers as numbers, but a driver may hand back a numeric string; both are accepted.
  size_bytes: number | string;
};

const COLUMNS = '"key", "value", "size_bytes", "created_at", "updated_at", "expires_at"';
const LIVE = '("expires_at" IS NULL OR "expires_at" > :now)';

// Sorts after every character a key may hold, so [prefix, prefix + PREFIX_END) is exactly "starts with prefix"
// under bytewise comparison (BINARY on SQLite, COLLATE "C" on PostgreSQL).
const PREFIX_END = '\uffff';

/**
 * Reads and writes agents' memory entries; rows are translated to and from the `MemoryEntry` contract.
 *
 * SQL is written out rather than built from entity metadata: the upsert needs an expression TypeORM's `orUpdate`
 * cannot express, and the statements are the same on SQLite and PostgreSQL but for placeholders, which the driver
 * fills in. Expiry is decided against the caller's `now`, so one request sees one consistent instant.
 */
export class AgentMemoryRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The entry of `agentId` under `key`, or null; an expired entry is returned too (see `expires_at`). */
  async get(tenantId: string, agentId: string, key: string): Promise<MemoryEntry | null> {
    const { records } = await this.run(
      `SELECT ${COLUMNS} FROM ${AGENT_MEMORY_TABLE} WHERE "tenant_id" = :tenantId AND "agent_id" = :agentId AND "key" = :key`,
      { tenantId, agentId, key },
    );
    const [row] = records as MemoryRow[];
    return row ? toEntry(row) : null;
  }

  /**
   * Creates or replaces the entry in one statement (`INSERT … ON CONFLICT … DO UPDATE`) and returns it as stored.
   * A replace keeps `created_at` unless the old entry had expired at `write.at`: then it counts as new.
   * @returns null (and writes nothing) when the agent does not exist in `tenantId`.
   * @throws when the write breaks the contract.
   */
  async put(tenantId: string, agentId: string, write: MemoryWrite): Promise<MemoryEntry | null> {
    const value = toJsonText(JsonValue.parse(write.value));
    // Selecting from agents makes "the agent exists in this tenant" part of the write: the foreign key alone would
    // accept an agent of another tenant. The casts give PostgreSQL the column types a VALUES list would have.
    const { records } = await this.run(
      `INSERT INTO ${AGENT_MEMORY_TABLE} ("tenant_id", "agent_id", "key", "value", "size_bytes", "created_at", "updated_at", "expires_at")
       SELECT "tenant_id", "id", :key, :value, CAST(:sizeBytes AS integer), :at, :at, CAST(:expiresAt AS varchar(32))
       FROM agents WHERE "tenant_id" = :tenantId AND "id" = :agentId
       ON CONFLICT ("agent_id", "key") DO UPDATE SET
         "value" = excluded."value",
         "size_bytes" = excluded."size_bytes",
         "updated_at" = excluded."updated_at",
         "expires_at" = excluded."expires_at",
         "created_at" = CASE WHEN ${AGENT_MEMORY_TABLE}."expires_at" <= excluded."updated_at"
                             THEN excluded."created_at" ELSE ${AGENT_MEMORY_TABLE}."created_at" END
       RETURNING ${COLUMNS}`,
      {
        tenantId,
        agentId,
        key: MemoryKey.parse(write.key),
        value,
        sizeBytes: Buffer.byteLength(value, 'utf8'),
        at: Timestamp.parse(write.at),
        expiresAt: write.expires_at === null ? null : Timestamp.parse(write.expires_at),
      },
    );
    const [row] = records as MemoryRow[];
    return row ? toEntry(row) : null;
  }

  /** Deletes the entry, expired or not. @returns false when there was none. */
  async delete(tenantId: string, agentId: string, key: string): Promise<boolean> {
    const { affected } = await this.run(
      `DELETE FROM ${AGENT_MEMORY_TABLE} WHERE "tenant_id" = :tenantId AND "agent_id" = :agentId AND "key" = :key`,
      { tenantId, agentId, key },
    );
    return (affected ?? 0) > 0;
  }

  /** Deletes the entry only if it has expired at `now`, so a concurrent rewrite of the key survives. @returns whether it did. */
  async deleteExpired(tenantId: string, agentId: string, key: string, now: string): Promise<boolean> {
    const { affected } = await this.run(
      `DELETE FROM ${AGENT_MEMORY_TABLE}
       WHERE "tenant_id" = :tenantId AND "agent_id" = :agentId AND "key" = :key AND "expires_at" <= :now`,
      { tenantId, agentId, key, now: Timestamp.parse(now) },
    );
    return (affected ?? 0) > 0;
  }

  /** The agent's live entries in key order (bytewise), at most `limit`. */
  async list(tenantId: string, agentId: string, options: MemoryListOptions): Promise<MemoryEntry[]> {
    const conditions = ['"tenant_id" = :tenantId', '"agent_id" = :agentId', LIVE];
    // A key range rather than LIKE: SQLite's LIKE ignores case, and a range needs no escaping of % and _.
    if (options.prefix) conditions.push('"key" >= :prefix', '"key" < :prefixEnd');
    if (options.after !== undefined) conditions.push('"key" > :after');
    const { records } = await this.run(
      `SELECT ${COLUMNS} FROM ${AGENT_MEMORY_TABLE} WHERE ${conditions.join(' AND ')} ORDER BY "key" LIMIT :limit`,
      {
        tenantId,
        agentId,
        now: Timestamp.parse(options.now),
        prefix: options.prefix,
        prefixEnd: `${options.prefix ?? ''}${PREFIX_END}`,
        after: options.after,
        limit: Math.max(0, Math.trunc(options.limit)),
      },
    );
    return (records as MemoryRow[]).map(toEntry);
  }

  /** How many entries of the agent are live at `now`. */
  async countLive(tenantId: string, agentId: string, now: string): Promise<number> {
    const { records } = await this.run(
      `SELECT COUNT(*) AS "count" FROM ${AGENT_MEMORY_TABLE} WHERE "tenant_id" = :tenantId AND "agent_id" = :agentId AND ${LIVE}`,
      { tenantId, agentId, now: Timestamp.parse(now) },
    );
    const [row] = records as { count: number | string }[];
    // PostgreSQL's COUNT is a bigint, which pg hands back as a string.
    return Number(row?.count ?? 0);
  }

  /** Deletes at most `batch` entries (of any agent) expired at `now`, oldest expiry first. @returns how many it deleted. */
  async purgeExpired(now: string, batch: number): Promise<number> {
    const { affected } = await this.run(
      `DELETE FROM ${AGENT_MEMORY_TABLE} WHERE ("agent_id", "key") IN (
         SELECT "agent_id", "key" FROM ${AGENT_MEMORY_TABLE} WHERE "expires_at" <= :now ORDER BY "expires_at" LIMIT :batch
       )`,
      { now: Timestamp.parse(now), batch: Math.max(0, Math.trunc(batch)) },
    );
    return affected ?? 0;
  }

  private async run(sql: string, parameters: ObjectLiteral): Promise<QueryResult> {
    const [query, bound] = this.dataSource.driver.escapeQueryWithParameters(sql, parameters, {});
    const queryRunner = this.dataSource.createQueryRunner();
    try {
      return await queryRunner.query(query, bound, true);
    } finally {
      await queryRunner.release();
    }
  }
}

function toEntry(row: MemoryRow): MemoryEntry {
  return MemoryEntry.parse({
    key: row.key,
    value: fromJsonText(row.value),
    size_bytes: Number(row.size_bytes),
    created_at: row.created_at,
    updated_at: row.updated_at,
    expires_at: row.expires_at,
  });
}
