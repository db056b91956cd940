import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { AuditList, Principal } from '@skreaver/contracts';
import { RequireRole } from '@skreaver/http';

import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { AuditListDto, AuditQueryDto } from '../dtos';
import { AuditService } from './audit.service';

@ApiTags('audit')
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequireRole('admin')
  @ApiOperation({ summary: 'Read the tenant\'s audit log, newest first' })
  @ApiOkResponse({ description: 'A page of entries; pass `next_before` as `before`', type: AuditListDto.Output })
  list(@CurrentPrincipal() principal: Principal, @Query() query: AuditQueryDto): Promise<AuditList> {
    return this.audit.list(principal, query);
  }
}
