import { Module } from '@nestjs/common';
import type { DynamicModule, InjectionToken } from '@nestjs/common';
import { MESSAGING_OPTIONS, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import { ApiKeyRepository } from '@skreaver/persistence';
import type Redis from 'ioredis';

import { Authenticator } from './authenticator';
import { TokenDenylist } from './token-denylist';
import { TokenService } from './token.service';

export interface AuthCoreOptions {
  /** `JWT_SECRET_KEY`, shared by every service that signs or checks tokens. */
  jwtSecret: string;
  /** Lifetime of the tokens this service signs (only agent-api signs). */
  tokenTtlSeconds: number;
}

/**
 * The one wiring of authentication shared by agent-api and ws-gateway: the token denylist in Redis, the token
 * service (HS256 only), and the authenticator over the API-key table. Needs `MessagingModule` and `PersistenceModule`.
 */
const AUTH_CORE_OPTIONS = Symbol('AUTH_CORE_OPTIONS');

@Module({})
export class AuthCoreModule {
  /** Options from the service's config: `register({ inject: [CONFIG], useFactory: (config) => ({ … }) })`. */
  static register(options: { inject: InjectionToken[]; useFactory: (...deps: never[]) => AuthCoreOptions }): DynamicModule {
    return {
      module: AuthCoreModule,
      providers: [
        { provide: AUTH_CORE_OPTIONS, inject: options.inject, useFactory: options.useFactory },
        {
          provide: TokenDenylist,
          useFactory: (redis: Redis, messaging: MessagingOptions) => new TokenDenylist(redis, messaging.keyPrefix),
          inject: [REDIS, MESSAGING_OPTIONS],
        },
        {
          provide: TokenService,
          useFactory: (denylist: TokenDenylist, core: AuthCoreOptions) =>
            new TokenService({ secret: core.jwtSecret, ttlSeconds: core.tokenTtlSeconds, revocations: denylist }),
          inject: [TokenDenylist, AUTH_CORE_OPTIONS],
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
      exports: [TokenDenylist, TokenService, Authenticator],
    };
  }
}
