import type { AuthFailureReason } from '@skreaver/contracts';

/** A credential was refused; `reason` says why (answered as 401 `unauthorized`). */
export class AuthError extends Error {
  constructor(
    readonly reason: AuthFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** Where a credential is checked: the API key store (database) or the token revocation list (Redis). */
export type AuthDependency = 'key_store' | 'revocation_list';

/**
 * A dependency needed to decide failed, so the credential is neither accepted nor refused: the request must fail
 * closed with a retryable error rather than be let through unchecked or told its credential is bad.
 */
export class AuthUnavailableError extends Error {
  constructor(
    readonly dependency: AuthDependency,
    cause: unknown,
  ) {
    super(`${dependency === 'key_store' ? 'API key store' : 'token revocation list'} unavailable`, { cause });
    this.name = 'AuthUnavailableError';
  }
}
