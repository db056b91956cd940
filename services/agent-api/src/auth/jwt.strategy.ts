import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { TokenService, looksLikeJwt, principalOfClaims } from '@skreaver/auth';
import type { Principal } from '@skreaver/contracts';
import { ExtractJwt, Strategy } from 'passport-jwt';
import type { JwtFromRequestFunction } from 'passport-jwt';

const bearer = ExtractJwt.fromAuthHeaderAsBearerToken();
// Tokens longer than any we sign, or not in three parts, are refused unparsed (`malformed`).
const fromBearer: JwtFromRequestFunction = (request) => {
  const token = bearer(request);
  return token && looksLikeJwt(token) ? token : null;
};

/**
 * Access tokens (`Authorization: Bearer <jwt>`): passport-jwt checks the HS256 signature (no other algorithm, so
 * neither `alg: none` nor an RS256 token "verified" with our secret as a public key); `validate` checks the
 * claims, the expiry and the denylist, and the principal it returns becomes `request.user`.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(private readonly tokens: TokenService) {
    super({
      jwtFromRequest: fromBearer,
      // The KeyObject TokenService made once (jsonwebtoken would otherwise rebuild it from a string every request,
      // first trying to parse it as a PEM key). jsonwebtoken 9 takes KeyObjects; @types/passport-jwt predates them.
      secretOrKey: tokens.verificationKey as unknown as Buffer,
      algorithms: ['HS256'],
      // Expiry is checked in `validate` (TokenService.claimsOf), to the millisecond.
      ignoreExpiration: true,
    });
  }

  /** @throws AuthError `malformed` or `revoked`; AuthUnavailableError when the denylist cannot be read (503). */
  async validate(payload: unknown): Promise<Principal> {
    return principalOfClaims(await this.tokens.checkRevocation(this.tokens.claimsOf(payload)));
  }
}
