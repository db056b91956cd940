import { z } from 'zod';

import { TenantId } from '../common';

/**
 * Pub/sub message telling every service that credentials stopped working, so connections authenticated earlier
 * (live sockets) are closed now rather than when their token expires: one token (`token`), everything of one
 * subject, i.e. an API key and the tokens minted from it (`subject`), or every token of a tenant (`tenant`).
 */
export const AuthRevocationV1 = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('token'), tenant_id: TenantId, token_id: z.uuid() }),
  z.strictObject({ kind: z.literal('subject'), tenant_id: TenantId, subject: z.string().min(1).max(128) }),
  z.strictObject({ kind: z.literal('tenant'), tenant_id: TenantId }),
]);
export type AuthRevocationV1 = z.infer<typeof AuthRevocationV1>;

/** Channel (under the deployment's key prefix) that carries `AuthRevocationV1`. */
export const AUTH_REVOCATION_CHANNEL = 'auth-revocation.v1';
