import { z } from 'zod';

import { JsonValue, TenantId, Timestamp } from '../common';

/** What a caller may do: `viewer` reads, `operator` also writes, `admin` also manages keys, audit and tenant-wide revocation. */
export const Role = z.enum(['admin', 'operator', 'viewer']);
export type Role = z.infer<typeof Role>;

/** How a request was authenticated. */
export const AuthMethod = z.enum(['api_key', 'jwt']);
export type AuthMethod = z.infer<typeof AuthMethod>;

/** Why a credential was refused (`details.reason` of a 401 `unauthorized`). */
export const AuthFailureReason = z.enum([
  'missing',
  'malformed',
  'expired',
  'invalid_signature',
  'revoked',
  'unknown_key',
  'expired_key',
]);
export type AuthFailureReason = z.infer<typeof AuthFailureReason>;

/** Who is calling, once authenticated. `subject` is `key:<prefix>` for API keys and for tokens minted from them. */
export const Principal = z.object({
  subject: z.string().min(1).max(128),
  role: Role,
  tenant_id: TenantId,
  via: AuthMethod,
  /** The API key's id, when the request carried the key itself. */
  key_id: z.uuid().optional(),
  /** The token's `jti`. */
  token_id: z.uuid().optional(),
  /** When the credential stops working, if it ever does. */
  expires_at: Timestamp.optional(),
});
export type Principal = z.infer<typeof Principal>;

/**
 * Claims of an access token. `iat` and `exp` are NumericDates with millisecond precision (RFC 7519 allows
 * fractions), so "revoke every token issued before now" is exact instead of rounding to a whole second.
 */
export const JwtClaims = z
  .strictObject({
    sub: z.string().min(1).max(128),
    role: Role,
    tenant: TenantId,
    jti: z.uuid(),
    iat: z.number().positive(),
    exp: z.number().positive(),
  })
  .refine((claims) => claims.exp > claims.iat, { message: 'exp must be after iat', path: ['exp'] });
export type JwtClaims = z.infer<typeof JwtClaims>;

/** The public part of an API key (`sk_<prefix>_<secret>`), shown in listings and in `key:<prefix>` subjects. */
export const ApiKeyPrefix = z.string().regex(/^[a-z0-9]{10}$/, '10 lowercase letters or digits');
export type ApiKeyPrefix = z.infer<typeof ApiKeyPrefix>;

export const ApiKeyName = z.string().trim().min(1).max(128);

/** Body of `POST /api-keys`; `tenant_id` other than the caller's is only for the `default` tenant's admins. */
export const CreateApiKeyRequest = z.strictObject({
  name: ApiKeyName,
  role: Role,
  tenant_id: TenantId.optional(),
  expires_at: Timestamp.optional(),
});
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequest>;

/** An API key as listings show it: never its secret or hash. */
export const ApiKey = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: ApiKeyPrefix,
  role: Role,
  tenant_id: TenantId,
  created_at: Timestamp,
  expires_at: Timestamp.nullable(),
  last_used_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;

/** Answer of `POST /api-keys`: the only time the whole key is shown. */
export const CreatedApiKey = ApiKey.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

export const ApiKeyList = z.object({ items: z.array(ApiKey) });
export type ApiKeyList = z.infer<typeof ApiKeyList>;

/** Query of `GET /api-keys`. */
export const ApiKeyListQuery = z.strictObject({ prefix: ApiKeyPrefix.optional() });
export type ApiKeyListQuery = z.infer<typeof ApiKeyListQuery>;

/** Path parameters of `/api-keys/{id}`. */
export const ApiKeyIdParams = z.object({ id: z.uuid() });
export type ApiKeyIdParams = z.infer<typeof ApiKeyIdParams>;

/** Body of `POST /auth/token`; optional, since the key usually comes in `Authorization: Bearer sk_…` or `X-API-Key`. */
export const TokenRequest = z.strictObject({ api_key: z.string().min(1).max(512).optional() });
export type TokenRequest = z.infer<typeof TokenRequest>;

/** Answer of `POST /auth/token`. */
export const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  /** Seconds until the token expires. */
  expires_in: z.number().int().nonnegative(),
  expires_at: Timestamp,
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/** Body of `POST /auth/revoke`; without `token` the caller's own token is revoked. */
export const RevokeRequest = z.strictObject({ token: z.string().min(1).max(8192).optional() });
export type RevokeRequest = z.infer<typeof RevokeRequest>;

/** What an audit entry records. */
export const AuditAction = z.enum(['api_key.created', 'api_key.revoked', 'token.revoked', 'token.revoked_all', 'agent.deleted', 'thread.deleted']);
export type AuditAction = z.infer<typeof AuditAction>;

/** One audit log entry; ids grow with time, so they double as the `before` cursor. */
export const AuditEntry = z.object({
  id: z.number().int().positive(),
  tenant_id: TenantId,
  ts: Timestamp,
  /** The principal's subject. */
  actor: z.string(),
  action: AuditAction,
  /** What was acted on: a key id, a token id, a tenant, an agent id. */
  target: z.string(),
  details: z.record(z.string(), JsonValue),
  request_id: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Query of `GET /audit`: newest first, entries older than `before` (an entry id). */
export const AuditQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().positive().optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** A page of the audit log, newest first; `next_before` continues it. */
export const AuditList = z.object({ items: z.array(AuditEntry), next_before: z.number().int().positive().nullable() });
export type AuditList = z.infer<typeof AuditList>;
