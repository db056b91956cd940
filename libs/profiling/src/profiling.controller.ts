import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError, ApiErrors, RequireRole } from '@skreaver/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { AdminTokenCheck } from './admin-token.check';
import { MAX_PROFILE_SECONDS, captureCpuProfile, heapSnapshot, isProfiling } from './profiler';

class CpuProfileQueryDto extends createZodDto(z.strictObject({ seconds: z.coerce.number().int().min(1).max(MAX_PROFILE_SECONDS).default(10) })) {}

/**
 * `GET /debug/profile/cpu?seconds=N` and `GET /debug/profile/heap`, for admins only: `@RequireRole('admin')` for a
 * service's auth guard (agent-api's), and an admin token checked here for services that have none.
 */
@ApiTags('debug')
@Controller('debug/profile')
export class ProfilingController {
  constructor(private readonly admin: AdminTokenCheck) {}

  @Get('cpu')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Take a CPU profile of this replica (admins, with a token)' })
  @ApiOkResponse({ description: 'A `.cpuprofile` (Chrome DevTools format)', content: { 'application/json': { schema: { type: 'object' } } } })
  @ApiErrors({ 409: 'A profile is already being taken' })
  async cpu(@Req() request: FastifyRequest, @Query() query: CpuProfileQueryDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<object> {
    await this.admin.require(request.headers.authorization);
    if (isProfiling()) throw new ApiError(409, 'conflict', 'a CPU profile is already being taken');
    void reply.header('content-disposition', `attachment; filename="cpu-${Date.now()}.cpuprofile"`);
    return captureCpuProfile(query.seconds);
  }

  @Get('heap')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Take a heap snapshot of this replica (admins, with a token)' })
  @ApiOkResponse({
    description: 'A `.heapsnapshot`',
    content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
  })
  async heap(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.admin.require(request.headers.authorization);
    await reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="heap-${Date.now()}.heapsnapshot"`)
      .send(heapSnapshot());
  }
}
