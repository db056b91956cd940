import { AuditEntry, Timestamp } from '@skreaver/contracts';

import { DataSource, LessThan, Repository } from 'typeorm';

import { AuditLogEntity } from './entities/audit-log.entity';
import { fromJsonText, toJsonText } from './json-text';

/** An audit entry before the database numbered it. */
export type NewAuditEntry = Omit<AuditEntry, 'id'>;

const NewAuditEntrySchema = AuditEntry.omit({ id: true });

/** Appends to and pages through the audit log; entries are never updated, only deleted by the retention sweep. */
export class AuditRepository {
  private readonly rows: Repository<AuditLogEntity>;

  constructor(dataSource: DataSource) {
    this.rows = dataSource.getRepository(AuditLogEntity);
  }

  /** Stores `entry` and returns it with the id the database gave it. @throws when it does not match the contract. */
  async append(entry: NewAuditEntry): Promise<AuditEntry> {
    const valid = NewAuditEntrySchema.parse(entry);
    const result = await this.rows.insert({
      tenant_id: valid.tenant_id,
      ts: valid.ts,
      actor: valid.actor,
      action: valid.action,
      target: valid.target,
      details: toJsonText(valid.details),
      request_id: valid.request_id,
    });
    const id: unknown = result.identifiers[0]?.['id'];
    return AuditEntry.parse({ ...valid, id: Number(id) });
  }

  /** A tenant's entries newest first, only those older than entry `before` when given. */
  async list(tenantId: string, options: { limit: number; before?: number }): Promise<AuditEntry[]> {
    const rows = await this.rows.find({
      where: { tenant_id: tenantId, ...(options.before === undefined ? {} : { id: LessThan(options.before) }) },
      order: { id: 'DESC' },
      take: options.limit,
    });
    return rows.map(toEntry);
  }

  /** Deletes up to `limit` of the oldest entries written before `before` (the retention sweep); returns how many. */
  async deleteBefore(before: string, limit: number): Promise<number> {
    const expired = this.rows
      .createQueryBuilder('expired')
      .select('expired.id')
      .where('expired.ts < :before')
      .orderBy('expired.ts', 'ASC')
      .limit(limit);
    const result = await this.rows
      .createQueryBuilder()
      .delete()
      .where(`id IN (${expired.getQuery()})`)
      .setParameters({ before: Timestamp.parse(before) })
      .execute();
    return result.affected ?? 0;
  }
}

function toEntry(row: AuditLogEntity): AuditEntry {
  return AuditEntry.parse({
    id: row.id,
    tenant_id: row.tenant_id,
    ts: row.ts,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: fromJsonText(row.details),
    request_id: row.request_id,
  });
}
