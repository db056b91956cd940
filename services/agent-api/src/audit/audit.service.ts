import { Injectable } from '@nestjs/common';
import type { AuditAction, AuditEntry, AuditList, AuditQuery, JsonValue, Principal } from '@skreaver/contracts';
import { AuditRepository } from '@skreaver/persistence';
import { nowIso } from '@skreaver/util';

import { databaseCall } from '../database-call';

/** The audit log: who did what to which target, per tenant. */
@Injectable()
export class AuditService {
  constructor(private readonly entries: AuditRepository) {}

  /**
   * Appends an entry to the principal's tenant's log, stamped with now, the principal's subject as actor and the id
   * of the request that made it (null for none, e.g. at start-up). Secrets never belong in `details`.
   * @throws ApiError 503 `database_unavailable` when the log cannot be written.
   */
  record(principal: Principal, requestId: string | null, action: AuditAction, target: string, details: Record<string, JsonValue> = {}): Promise<AuditEntry> {
    return databaseCall(() =>
      this.entries.append({
        tenant_id: principal.tenant_id,
        ts: nowIso(),
        actor: principal.subject,
        action,
        target,
        details,
        request_id: requestId,
      }),
    );
  }

  /** A page of the principal's tenant's log, newest first. */
  async list(principal: Principal, query: AuditQuery): Promise<AuditList> {
    const items = await databaseCall(() => this.entries.list(principal.tenant_id, { limit: query.limit, before: query.before }));
    const last = items[items.length - 1];
    return { items, next_before: items.length === query.limit && last ? last.id : null };
  }
}
