import type { Principal } from '@skreaver/contracts';

import type { RateLimitVerdict } from '../rate-limit/rate-limiter.service';

/**
 * What the one-trip admission (rate-limit/ip-rate-limit.hook.ts) found for a request with an access token, before
 * the auth guard and the subject limit run: they take their answer from here instead of asking Redis again.
 */
export interface RequestAdmission {
  /** The token's principal (signature and claims checked). */
  principal: Principal;
  /** The denylist revokes the token: the guard answers 401 `revoked` (and the subject was not counted). */
  revoked: boolean;
  /** The subject limit's verdict, null when the subject is not limited (or the token is revoked). */
  subject: RateLimitVerdict | null;
}

// A field of the request object itself, under a symbol no one else holds, like the principal (request-principal.ts):
// gone with the request. Not a WeakMap: every entry of one is an ephemeron the garbage collector must trace
// specially (with the principal's, ~1 % of agent-api's busy time on `GET /agents/{id}` in the profile, plus the
// collector's share).
const ADMISSION = Symbol('skreaver.requestAdmission');

interface WithAdmission {
  [ADMISSION]?: RequestAdmission;
}

/** Records the admission of `request` (done once, by the admission hook). */
export function setAdmission(request: object, admission: RequestAdmission): void {
  (request as WithAdmission)[ADMISSION] = admission;
}

/** The admission the hook recorded for `request`, if it admitted it in one trip. */
export function admissionOf(request: object): RequestAdmission | undefined {
  return (request as WithAdmission)[ADMISSION];
}
