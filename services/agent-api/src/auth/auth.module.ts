import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Authenticator, TokenDenylist, TokenService } from '@skreaver/auth';
import { MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { ApiKeyRepository } from '@skreaver/persistence';
import type Redis from 'ioredis';

import { AuditModule } from '../audit/audit.module';
import { AGENT_API_CONFIG, requireJwtSecret } from '../config';
import type { AgentApiConfig } from '../config';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';

/** Authentication for every route (the global `AuthGuard`), `/auth/*`, and the token signer and denylist. */
@Module({
  imports: [AuditModule],
  controllers: [AuthController],
  providers: [
    {
      provide: TokenDenylist,
      useFactory: (redis: Redis, options: MessagingOptions) => new TokenDenylist(redis, options.keyPrefix),
      inject: [REDIS, MESSAGING_OPTIONS],
    },
    {
      provide: TokenService,
      useFactory: (config: AgentApiConfig, denylist: TokenDenylist) =>
        new TokenService({ secret: requireJwtSecret(config), ttlSeconds: config.JWT_TTL_SECONDS, revocations: denylist }),
      inject: [AGENT_API_CONFIG, TokenDenylist],
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
    AuthService,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [TokenService, TokenDenylist],
})
export class AuthModule {}
