import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { TokenDenylist, TokenService } from '@skreaver/auth';
import { ConfigError } from '@skreaver/config';
import { MESSAGING_OPTIONS, MessagingModule, REDIS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';
import type { RedisClient } from '@skreaver/messaging';

import { AdminTokenCheck } from './admin-token.check';
import { ProfilingController } from './profiling.controller';

export interface ProfilingOptions {
  /** `SKREAVER_ENABLE_PROFILING`: off, the routes do not exist at all. */
  enabled: boolean;
  /** `JWT_SECRET_KEY`, to verify admin tokens; required when enabled. */
  jwtSecret: string | undefined;
}

// Only verification happens here: tokens are minted by agent-api, so the lifetime setting is irrelevant.
const UNUSED_TTL_SECONDS = 60;

/** The admin-only profiling routes, mounted only when profiling is enabled. Imports `MessagingModule` (denylist). */
@Module({})
export class ProfilingModule {
  static forRoot(options: ProfilingOptions): DynamicModule {
    if (!options.enabled) return { module: ProfilingModule };
    const secret = options.jwtSecret;
    if (!secret || secret.length < 32) {
      throw new ConfigError([`JWT_SECRET_KEY=${secret ? '<redacted>' : '<missing>'} (SKREAVER_ENABLE_PROFILING=true needs the JWT secret, at least 32 characters, to check admin tokens)`]);
    }
    return {
      module: ProfilingModule,
      imports: [MessagingModule],
      controllers: [ProfilingController],
      providers: [
        {
          provide: AdminTokenCheck,
          inject: [REDIS, MESSAGING_OPTIONS],
          useFactory: (redis: RedisClient, messaging: MessagingOptions) =>
            new AdminTokenCheck(
              new TokenService({ secret, ttlSeconds: UNUSED_TTL_SECONDS, revocations: new TokenDenylist(redis, messaging.keyPrefix) }),
            ),
        },
      ],
    };
  }
}
