import { Module } from '@nestjs/common';
import { Authenticator, TokenDenylist, TokenService } from '@skreaver/auth';
import { MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { ApiKeyRepository } from '@skreaver/persistence';
import type Redis from 'ioredis';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';

// The gateway only verifies tokens; the lifetime matters to `sign()` alone, which it never calls.
const UNUSED_TOKEN_TTL_SECONDS = 3600;

/** The same authentication as agent-api: its JWT secret and denylist for tokens, the API key table for keys. */
@Module({
  providers: [
    {
      provide: TokenDenylist,
      useFactory: (redis: Redis, options: MessagingOptions) => new TokenDenylist(redis, options.keyPrefix),
      inject: [REDIS, MESSAGING_OPTIONS],
    },
    {
      provide: TokenService,
      useFactory: (config: WsGatewayConfig, denylist: TokenDenylist) =>
        new TokenService({ secret: config.JWT_SECRET_KEY, ttlSeconds: UNUSED_TOKEN_TTL_SECONDS, revocations: denylist }),
      inject: [WS_GATEWAY_CONFIG, TokenDenylist],
    },
    {
      provide: Authenticator,
      useFactory: (keys: ApiKeyRepository, tokens: TokenService, logger: JsonLogger) =>
        new Authenticator({
          keys,
          tokens,
          onTouchError: (error) => logger.write('warn', 'Could not record API key use', { error: String(error) }, 'auth'),
        }),
      inject: [ApiKeyRepository, TokenService, JsonLogger],
    },
  ],
  exports: [Authenticator],
})
export class AuthModule {}
