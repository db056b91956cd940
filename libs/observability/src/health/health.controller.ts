import { Controller, Get, HttpStatus, Res } from '@nestjs/common';

import { ReadinessService } from './readiness.service';
import type { ReadinessReport } from './readiness.service';

/** The reply surface Nest hands over with Fastify or Express: only `status()` is used. */
interface StatusReply {
  status(code: number): unknown;
}

/**
 * `/health` (liveness: no I/O) and `/ready` (readiness: every dependency reported; 503 only when the pod cannot serve,
 * 200 `degraded` while only dependencies some routes need are down).
 */
@Controller()
export class HealthController {
  private readonly startedAt = Date.now();

  constructor(private readonly readiness: ReadinessService) {}

  @Get('health')
  health(): { status: 'ok'; uptime_s: number } {
    return { status: 'ok', uptime_s: Math.round((Date.now() - this.startedAt) / 1000) };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: StatusReply): Promise<ReadinessReport> {
    const report = await this.readiness.report();
    reply.status(report.status === 'not_ready' ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK);
    return report;
  }
}
