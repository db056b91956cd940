import { Module } from '@nestjs/common';
import { AuthCoreModule } from '@skreaver/auth';
import type { ApiKeyStore } from '@skreaver/auth';
import { ApiKeyRepository, PersistenceModule } from '@skreaver/persistence';

import { WS_GATEWAY_CONFIG } from '../config';
import type { WsGatewayConfig } from '../config';

// The gateway only verifies tokens; the lifetime matters to `sign()` alone, which it never calls.
const UNUSED_TOKEN_TTL_SECONDS = 3600;

/** The same authentication as agent-api: its JWT secret and denylist for tokens, the API key table for keys. */
@Module({
  imports: [
    AuthCoreModule.register({
      imports: [PersistenceModule],
      inject: [WS_GATEWAY_CONFIG],
      useFactory: (config: WsGatewayConfig) => ({ jwtSecret: config.JWT_SECRET_KEY, tokenTtlSeconds: UNUSED_TOKEN_TTL_SECONDS }),
      keyStore: { inject: [ApiKeyRepository], useFactory: (keys: ApiKeyRepository): ApiKeyStore => keys },
    }),
  ],
  exports: [AuthCoreModule],
})
export class AuthModule {}
