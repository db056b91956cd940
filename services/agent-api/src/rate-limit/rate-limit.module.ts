import { Module } from '@nestjs/common';
import { MESSAGING_OPTIONS } from '@skreaver/messaging';
import type { MessagingOptions } from '@skreaver/messaging';

import { AuthModule } from '../auth/auth.module';
import { IpRateLimitHook } from './ip-rate-limit.hook';
import { RateLimitStore } from './rate-limit.store';
import { RateLimiter } from './rate-limiter.service';
import { SubjectRateLimit } from './subject-rate-limit';

/**
 * Rate limits per client address (before authentication) and per subject (after it), counted in Redis; for requests
 * with an access token, in one round trip with the token's denylist check (ip-rate-limit.hook.ts).
 */
@Module({
  imports: [AuthModule],
  providers: [
    {
      provide: RateLimitStore,
      useFactory: (options: MessagingOptions) =>
        new RateLimitStore(RateLimitStore.connect(options.url, `${options.connectionName}:rate-limit`), options.keyPrefix),
      inject: [MESSAGING_OPTIONS],
    },
    RateLimiter,
    IpRateLimitHook,
    SubjectRateLimit,
  ],
})
export class RateLimitModule {}
