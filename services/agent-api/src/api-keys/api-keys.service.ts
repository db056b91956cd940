import { Inject, Injectable } from '@nestjs/common';
import { apiKeySubject, generateApiKey, hashSecret, parseApiKey, TokenDenylist, TokenService, verifySecret } from '@skreaver/auth';
import { DEFAULT_TENANT } from '@skreaver/contracts';
import type { ApiKey, ApiKeyListQuery, CreateApiKeyRequest, CreatedApiKey, Principal, Role } from '@skreaver/contracts';
import { ApiError } from '@skreaver/http';
import { JsonLogger } from '@skreaver/observability';
import { ApiKeyRepository } from '@skreaver/persistence';
import type { ApiKeyRecord } from '@skreaver/persistence';
import { newId, nowIso } from '@skreaver/util';

import { AuditService } from '../audit/audit.service';
import { AGENT_API_CONFIG } from '../config';
import type { AgentApiConfig } from '../config';
import { databaseCall } from '../database-call';

/** What the bootstrap found for `SKREAVER_ADMIN_API_KEY`. */
export type BootstrapKeyOutcome = 'created' | 'present' | 'revoked';

const BOOTSTRAP_NAME = 'bootstrap-admin';
// Acts for keys created at start, in the audit log and in `created_by`.
const BOOTSTRAP_PRINCIPAL: Principal = { subject: 'bootstrap', role: 'admin', tenant_id: DEFAULT_TENANT, via: 'api_key' };

/** API keys: minting (shown once, stored hashed), listing and revoking, plus the admin key made at start. */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly tokens: TokenService,
    private readonly denylist: TokenDenylist,
    private readonly audit: AuditService,
    @Inject(AGENT_API_CONFIG) private readonly config: AgentApiConfig,
    private readonly logger: JsonLogger,
  ) {}

  /**
   * Mints a key in the caller's tenant, or in `tenant_id` when the caller is an admin of the bootstrap tenant
   * `default` (the operator of the installation).
   * @throws ApiError 403 for another tenant, 400 for an expiry in the past.
   */
  async create(principal: Principal, request: CreateApiKeyRequest, requestId: string | null): Promise<CreatedApiKey> {
    const tenantId = request.tenant_id ?? principal.tenant_id;
    if (tenantId !== principal.tenant_id && principal.tenant_id !== DEFAULT_TENANT) {
      throw new ApiError(403, 'forbidden', `only admins of tenant ${DEFAULT_TENANT} may create keys for another tenant`);
    }
    const now = nowIso();
    if (request.expires_at !== undefined && request.expires_at <= now) {
      throw new ApiError(400, 'validation_failed', 'Invalid request body', [{ path: 'expires_at', message: 'must be in the future' }]);
    }
    const minted = generateApiKey();
    const key = await this.store(
      { name: request.name, role: request.role, tenantId, prefix: minted.prefix, hash: minted.hash, expiresAt: request.expires_at ?? null },
      principal,
      requestId,
    );
    return { ...key, key: minted.key };
  }

  /** The caller's tenant's keys, newest first; never a secret or hash. */
  list(principal: Principal, query: ApiKeyListQuery): Promise<ApiKey[]> {
    return databaseCall(() => this.keys.list(principal.tenant_id, query));
  }

  /**
   * Revokes a key of the caller's tenant: requests with it fail from now on, and so do the tokens minted from it.
   * Revoking a revoked key again only re-applies the token cut-off, so a retry after a Redis failure completes it.
   * @throws ApiError 404 for an unknown key or another tenant's, 503 when the tokens could not be revoked.
   */
  async revoke(principal: Principal, id: string, requestId: string): Promise<void> {
    const key = await databaseCall(() => this.keys.findById(principal.tenant_id, id));
    if (!key) throw ApiError.notFound(`API key ${id}`);
    const now = nowIso();
    if (key.revoked_at === null && (await databaseCall(() => this.keys.revoke(principal.tenant_id, id, now)))) {
      await this.audit.record(principal, requestId, 'api_key.revoked', id, { prefix: key.prefix, name: key.name });
    }
    // The revoked key can mint no new token, so cutting off at (or after) its revocation catches all of them.
    const cutoff = Date.parse(key.revoked_at ?? now) / 1000;
    try {
      await this.denylist.revokeSubjectBefore(key.tenant_id, apiKeySubject(key.prefix), cutoff, this.tokens.ttlSeconds);
    } catch {
      throw ApiError.unavailable('redis_unavailable', 'The key is revoked but the tokens minted from it are not yet; retry');
    }
  }

  /**
   * Makes sure `SKREAVER_ADMIN_API_KEY` exists as an admin key of tenant `default` (stored hashed). A revoked one
   * stays revoked: restarting with the variable still set must not undo a revocation.
   * @throws Error when another key already uses the prefix.
   */
  async ensureBootstrapKey(rawKey: string): Promise<BootstrapKeyOutcome> {
    const parsed = parseApiKey(rawKey);
    if (!parsed) throw new Error('SKREAVER_ADMIN_API_KEY is not an API key');
    const existing = await this.keys.findByPrefix(parsed.prefix);
    if (existing) return this.checkBootstrapKey(existing, parsed.secret);
    try {
      await this.store(
        { name: BOOTSTRAP_NAME, role: 'admin', tenantId: DEFAULT_TENANT, prefix: parsed.prefix, hash: hashSecret(parsed.secret), expiresAt: null },
        BOOTSTRAP_PRINCIPAL,
        // Start-up, not a request.
        null,
      );
      return 'created';
    } catch (error) {
      // Another replica starting at the same time may have inserted it first.
      const raced = await this.keys.findByPrefix(parsed.prefix);
      if (raced) return this.checkBootstrapKey(raced, parsed.secret);
      throw error;
    }
  }

  /** Mints an admin key of tenant `default` if that tenant has no usable one; null when it has. */
  async generateAdminKeyIfNone(): Promise<CreatedApiKey | null> {
    if (await this.keys.hasActive(DEFAULT_TENANT, 'admin', nowIso())) return null;
    return this.create(BOOTSTRAP_PRINCIPAL, { name: BOOTSTRAP_NAME, role: 'admin' }, null);
  }

  private checkBootstrapKey(existing: ApiKeyRecord, secret: string): BootstrapKeyOutcome {
    if (!verifySecret(secret, existing.secret_hash)) {
      throw new Error('SKREAVER_ADMIN_API_KEY: another key already uses its prefix; generate a new key');
    }
    if (existing.role !== 'admin' || existing.tenant_id !== DEFAULT_TENANT) {
      throw new Error(`SKREAVER_ADMIN_API_KEY names a ${existing.role} key of tenant ${existing.tenant_id}, not an admin key of ${DEFAULT_TENANT}`);
    }
    if (existing.revoked_at === null) return 'present';
    this.logger.write('warn', 'SKREAVER_ADMIN_API_KEY has been revoked and stays revoked; set a new key', { prefix: existing.prefix }, 'auth');
    return 'revoked';
  }

  private async store(
    key: { name: string; role: Role; tenantId: string; prefix: string; hash: string; expiresAt: string | null },
    principal: Principal,
    requestId: string | null,
  ): Promise<ApiKey> {
    const stored: ApiKeyRecord = {
      id: newId(),
      name: key.name,
      prefix: key.prefix,
      role: key.role,
      tenant_id: key.tenantId,
      created_at: nowIso(),
      expires_at: key.expiresAt,
      last_used_at: null,
      revoked_at: null,
      secret_hash: key.hash,
      created_by: principal.subject,
    };
    const created = await databaseCall(() => this.keys.insert(stored));
    await this.audit.record(principal, requestId, 'api_key.created', created.id, {
      prefix: created.prefix,
      name: created.name,
      role: created.role,
      tenant_id: created.tenant_id,
    });
    return created;
  }
}
