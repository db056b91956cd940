import { Module } from '@nestjs/common';
import { PersistenceModule } from '@skreaver/persistence';

import { AuditController } from './audit.controller';
import { AuditService } from './audit.service';

/** `GET /audit` and `AuditService.record`, which features import this module to call. */
@Module({
  imports: [PersistenceModule],
  controllers: [AuditController],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
