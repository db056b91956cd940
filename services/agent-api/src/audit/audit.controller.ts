import { Controller, Get, Query } from '@nestjs/common';
import { AuditQuery } from '@skreaver/contracts';
import type { AuditList, Principal } from '@skreaver/contracts';
import { ZodValidationPipe } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { AuditService } from './audit.service';

@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(AuditQuery, 'query')) query: AuditQuery,
  ): Promise<AuditList> {
    return this.audit.list(principal, query);
  }
}
