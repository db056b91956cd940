import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthCoreModule } from '@skreaver/auth';
import type { ApiKeyStore } from '@skreaver/auth';
import { ApiKeyRepository, PersistenceModule } from '@skreaver/persistence';

import { AuditModule } from '../audit/audit.module';
import { AGENT_API_CONFIG, requireJwtSecret } from '../config';
import type { AgentApiConfig } from '../config';
import { AfterAuthorization } from './after-authorization';
import { ApiKeyStrategy } from './api-key.strategy';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { JwtStrategy } from './jwt.strategy';
import { RouteAccess } from './route-access';

/** Authentication for every route (the global `AuthGuard` and its passport strategies), `/auth/*`, and the token signer and denylist. */
@Module({
  imports: [
    AuditModule,
    AuthCoreModule.register({
      imports: [PersistenceModule],
      inject: [AGENT_API_CONFIG],
      useFactory: (config: AgentApiConfig) => ({ jwtSecret: requireJwtSecret(config), tokenTtlSeconds: config.JWT_TTL_SECONDS }),
      keyStore: { inject: [ApiKeyRepository], useFactory: (keys: ApiKeyRepository): ApiKeyStore => keys },
    }),
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    // Registered with passport when made. Passport's registry is per process: one app per process, as in production.
    JwtStrategy,
    ApiKeyStrategy,
    RouteAccess,
    AfterAuthorization,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [AuthCoreModule, RouteAccess, AfterAuthorization],
})
export class AuthModule {}
