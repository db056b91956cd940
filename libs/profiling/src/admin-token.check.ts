import { AuthError, TokenService } from '@skreaver/auth';
import { ApiError } from '@skreaver/http';

/**
 * Lets only admins through, by their JWT (the same `JWT_SECRET_KEY` and denylist as agent-api). Services other than
 * agent-api have no API-key store, so profiling takes tokens only: exchange a key at `POST /auth/token` first.
 */
export class AdminTokenCheck {
  constructor(private readonly tokens: TokenService) {}

  /** Resolves for an admin's valid token; 401 for a missing or bad one, 403 for another role. */
  async require(authorization: string | undefined): Promise<void> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new ApiError(401, 'unauthorized', 'an admin bearer token is required');
    let role: string;
    try {
      role = (await this.tokens.verify(token)).role;
    } catch (error) {
      if (error instanceof AuthError) throw new ApiError(401, 'unauthorized', `token rejected: ${error.reason}`);
      throw error;
    }
    if (role !== 'admin') throw new ApiError(403, 'forbidden', 'profiling is for admins');
  }
}
