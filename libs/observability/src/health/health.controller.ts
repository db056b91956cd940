import { Controller, Get, HttpStatus, Res } from '@nestjs/common';

import { ReadinessService } from './readiness.service';
import type { ReadinessReport } from './readiness.service';

/** The reply surface Nest hands over with Fastify or Express: only `status()` is used. */
interface StatusReply {
  status(code: number): unknown;
}

/** `/health` (liveness: no I/O) and `/ready` (readiness: every dependency, 503 when one is down). */
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
    reply.status(report.status === 'ready' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }
}
