import { Module } from '@nestjs/common';
import type { DynamicModule, InjectionToken, ModuleMetadata } from '@nestjs/common';
import { MESSAGING_OPTIONS, MessagingModule, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import type { RedisClient } from '@skreaver/messaging';

import type { ApiKeyStore } from './api-key-store';
import { Authenticator } from './authenticator';
import { TokenDenylist } from './token-denylist';
import { TokenService } from './token.service';

export interface AuthCoreOptions {
  /** `JWT_SECRET_KEY`, shared by every service that signs or checks tokens. */
  jwtSecret: string;
  /** Lifetime of the tokens this service signs (only agent-api signs). */
  tokenTtlSeconds: number;
}

/** How a service configures `AuthCoreModule`: its options from the service's config, and its `ApiKeyStore`. */
export interface AuthCoreRegistration {
  /** Modules that export what `inject` and `keyStore.inject` name. */
  imports?: ModuleMetadata['imports'];
  inject: InjectionToken[];
  useFactory: (...deps: never[]) => AuthCoreOptions;
  /** Binds the `ApiKeyStore` port, e.g. `{ inject: [ApiKeyRepository], useFactory: (keys: ApiKeyRepository): ApiKeyStore => keys }`. */
  keyStore: { inject: InjectionToken[]; useFactory: (...deps: never[]) => ApiKeyStore };
}

const AUTH_CORE_OPTIONS = Symbol('AUTH_CORE_OPTIONS');
const API_KEY_STORE = Symbol('API_KEY_STORE');

/**
 * The one wiring of authentication shared by agent-api and ws-gateway: the token denylist in Redis, the token
 * service (HS256 only), and the authenticator over the service's `ApiKeyStore`. Imports `MessagingModule` itself.
 */

@Module({})
export class AuthCoreModule {
  /** Options from the service's config: `register({ inject: [CONFIG], useFactory: (config) => ({ … }), keyStore })`. */
  static register(options: AuthCoreRegistration): DynamicModule {
    return {
      module: AuthCoreModule,
      imports: [MessagingModule, ...(options.imports ?? [])],
      providers: [
        { provide: AUTH_CORE_OPTIONS, inject: options.inject, useFactory: options.useFactory },
        { provide: API_KEY_STORE, inject: options.keyStore.inject, useFactory: options.keyStore.useFactory },
        {
          provide: TokenDenylist,
          useFactory: (redis: RedisClient, messaging: MessagingOptions) => new TokenDenylist(redis, messaging.keyPrefix),
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
          useFactory: (keys: ApiKeyStore, tokens: TokenService, logger: JsonLogger) =>
            new Authenticator({
              keys,
              tokens,
              onTouchError: (error, request) => logger.write('warn', 'Could not record API key use', { error: String(error) }, 'auth', request),
            }),
          inject: [API_KEY_STORE, TokenService, JsonLogger],
        },
      ],
      exports: [TokenDenylist, TokenService, Authenticator],
    };
  }
}
