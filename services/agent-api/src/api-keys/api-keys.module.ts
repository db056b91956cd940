import { Module } from '@nestjs/common';
import { PersistenceModule } from '@skreaver/persistence';

import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { AdminKeyBootstrap } from './admin-key.bootstrap';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';

/** `/api-keys` and the admin key made at start. */
@Module({
  imports: [PersistenceModule, AuthModule, AuditModule],
  controllers: [ApiKeysController],
  providers: [ApiKeysService, AdminKeyBootstrap],
})
export class ApiKeysModule {}
