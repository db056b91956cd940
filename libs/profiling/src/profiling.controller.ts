import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiError, ZodValidationPipe } from '@skreaver/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

import { AdminTokenCheck } from './admin-token.check';
import { MAX_PROFILE_SECONDS, captureCpuProfile, heapSnapshot, isProfiling } from './profiler';

const CpuProfileQuery = z.strictObject({ seconds: z.coerce.number().int().min(1).max(MAX_PROFILE_SECONDS).default(10) });
type CpuProfileQuery = z.infer<typeof CpuProfileQuery>;

/** `GET /debug/profile/cpu?seconds=N` and `GET /debug/profile/heap`, for admins only. */
@Controller('debug/profile')
export class ProfilingController {
  constructor(private readonly admin: AdminTokenCheck) {}

  @Get('cpu')
  async cpu(
    @Req() request: FastifyRequest,
    @Query(new ZodValidationPipe(CpuProfileQuery, 'query')) query: CpuProfileQuery,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<object> {
    await this.admin.require(request.headers.authorization);
    if (isProfiling()) throw new ApiError(409, 'conflict', 'a CPU profile is already being taken');
    void reply.header('content-disposition', `attachment; filename="cpu-${Date.now()}.cpuprofile"`);
    return captureCpuProfile(query.seconds);
  }

  @Get('heap')
  async heap(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.admin.require(request.headers.authorization);
    await reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="heap-${Date.now()}.heapsnapshot"`)
      .send(heapSnapshot());
  }
}
