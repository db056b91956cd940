import { AUTH_REVOCATION_CHANNEL, AuthRevocationV1 } from '@skreaver/contracts';
import { publishToChannel, subscribeToChannel } from '@skreaver/messaging';
import type { RedisClient } from '@skreaver/messaging';

/** What the denylist knows about one token, read in a single round trip. */
export interface RevocationStatus {
  /** The token's `jti` was revoked on its own. */
  revoked: boolean;
  /** Tokens of the tenant issued at or before this instant (epoch seconds) are revoked; null when never set. */
  tenantNotBefore: number | null;
  /** The same cut-off for one subject (set when the API key the tokens came from is revoked). */
  subjectNotBefore: number | null;
}

/** The revocation lookup `TokenService.verify` needs; `TokenDenylist` implements it. */
export interface RevocationList {
  check(tenantId: string, jti: string, subject: string): Promise<RevocationStatus>;
}

// Only ever moves a cut-off forward: a replica whose clock runs behind must not resurrect tokens another revoked.
// KEYS[1] cut-off key, ARGV[1] epoch seconds, ARGV[2] TTL in seconds or 0 for none.
const RAISE_CUTOFF = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
if wanted > current then current = wanted end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], tostring(current), 'EX', ARGV[2])
else
  redis.call('SET', KEYS[1], tostring(current))
end
return tostring(current)
`;

/**
 * Revoked access tokens in Redis. Every key of a tenant carries the tenant as its Redis Cluster hash tag
 * (`<prefix>:auth:{<tenant>}:…`), so the per-request check is one MGET that Cluster can serve from one slot:
 *
 * - `…:denied:<jti>`: one revoked token, expiring (PXAT) when the token itself expires, so the list never holds
 *   more than the live tokens anybody bothered to revoke;
 * - `…:not-before`: the tenant's "revoke all" cut-off. No TTL: it is one small key per tenant, and a TTL equal to
 *   the token lifetime would be wrong whenever replicas disagree on `JWT_TTL_SECONDS` (a rolling config change),
 *   resurrecting long-lived tokens issued before the cut-off;
 * - `…:subject-not-before:<subject>`: the same cut-off for the tokens minted from one revoked API key. It may
 *   expire after one token lifetime because the revoked key can mint no new token.
 */
export class TokenDenylist implements RevocationList {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  /** Revokes one token until `expiresAtSec` (its `exp`), after which it is dead anyway and the entry vanishes. */
  async revoke(tenantId: string, jti: string, expiresAtSec: number): Promise<void> {
    const expiresAtMs = Math.ceil(expiresAtSec * 1000);
    if (expiresAtMs <= Date.now()) return;
    // The entry first, then the announcement (a listener that checks sees it); not one MULTI: on a cluster a sharded
    // channel is a key of its own slot.
    await this.redis.set(this.deniedKey(tenantId, jti), '1', 'PXAT', expiresAtMs);
    await publishToChannel(this.redis, this.channel(), this.announce({ kind: 'token', tenant_id: tenantId, token_id: jti }));
  }

  /** Whether the token `jti` of `tenantId` was revoked on its own. */
  async isRevoked(tenantId: string, jti: string): Promise<boolean> {
    return (await this.redis.exists(this.deniedKey(tenantId, jti))) === 1;
  }

  /** Revokes every token of `tenantId` issued at or before `epochSec`. */
  async revokeAllBefore(tenantId: string, epochSec: number): Promise<void> {
    await this.redis.eval(RAISE_CUTOFF, 1, this.notBeforeKey(tenantId), String(epochSec), '0');
    await publishToChannel(this.redis, this.channel(), this.announce({ kind: 'tenant', tenant_id: tenantId }));
  }

  /** The tenant's cut-off in epoch seconds, or null. */
  async notBefore(tenantId: string): Promise<number | null> {
    return toNumber(await this.redis.get(this.notBeforeKey(tenantId)));
  }

  /** Revokes every token of `subject` issued at or before `epochSec`; the entry lives `ttlSec` (the token lifetime). */
  async revokeSubjectBefore(tenantId: string, subject: string, epochSec: number, ttlSec: number): Promise<void> {
    await this.redis.eval(RAISE_CUTOFF, 1, this.subjectKey(tenantId, subject), String(epochSec), String(Math.max(1, Math.ceil(ttlSec))));
    await publishToChannel(this.redis, this.channel(), this.announce({ kind: 'subject', tenant_id: tenantId, subject }));
  }

  /**
   * Calls `onRevocation` for every revocation announced from now on (by any replica), so holders of long-lived
   * connections can close those authenticated with a revoked credential. `subscriber` must be a dedicated
   * connection (it enters subscribe mode). Returns a function that unsubscribes.
   */
  async listen(subscriber: RedisClient, onRevocation: (revocation: AuthRevocationV1) => void): Promise<() => Promise<void>> {
    return subscribeToChannel(subscriber, this.channel(), AuthRevocationV1, onRevocation);
  }

  /**
   * The keys `check` reads, in its order (the token's own entry, the tenant's and the subject's cut-off), for a
   * caller that reads them in a script of its own (agent-api's one-round-trip admission). They share one hash slot.
   */
  keysOf(tenantId: string, jti: string, subject: string): [denied: string, tenantNotBefore: string, subjectNotBefore: string] {
    return [this.deniedKey(tenantId, jti), this.notBeforeKey(tenantId), this.subjectKey(tenantId, subject)];
  }

  /** What the values of `keysOf`'s keys (null when absent) say about the token. */
  static statusOf(denied: string | null, tenantNotBefore: string | null, subjectNotBefore: string | null): RevocationStatus {
    return { revoked: denied !== null, tenantNotBefore: toNumber(tenantNotBefore), subjectNotBefore: toNumber(subjectNotBefore) };
  }

  /** Everything that could revoke the token, in one MGET. */
  async check(tenantId: string, jti: string, subject: string): Promise<RevocationStatus> {
    const [denied, tenantCut, subjectCut] = await this.redis.mget(...this.keysOf(tenantId, jti, subject));
    return TokenDenylist.statusOf(denied ?? null, tenantCut ?? null, subjectCut ?? null);
  }

  private channel(): string {
    return `${this.keyPrefix}:${AUTH_REVOCATION_CHANNEL}`;
  }

  private announce(revocation: AuthRevocationV1): string {
    return JSON.stringify(AuthRevocationV1.parse(revocation));
  }

  private base(tenantId: string): string {
    return `${this.keyPrefix}:auth:{${tenantId}}`;
  }

  private deniedKey(tenantId: string, jti: string): string {
    return `${this.base(tenantId)}:denied:${jti}`;
  }

  private notBeforeKey(tenantId: string): string {
    return `${this.base(tenantId)}:not-before`;
  }

  private subjectKey(tenantId: string, subject: string): string {
    return `${this.base(tenantId)}:subject-not-before:${subject}`;
  }
}

function toNumber(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
}
