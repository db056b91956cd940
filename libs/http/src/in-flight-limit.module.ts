import { Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

import { InFlightLimiter } from './in-flight-limiter';
import type { InFlightLimitOptions } from './in-flight-limiter';

// Installed at module init, not at construction: by then createServiceApp has added its request-id hook, which
// must run first so a refusal still carries the request id. Fastify applies hooks to routes when it gets ready.
@Injectable()
class InFlightLimitInstaller implements OnModuleInit {
  constructor(
    private readonly limiter: InFlightLimiter,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    if (adapter) this.limiter.install(adapter.getInstance<FastifyInstance>());
  }
}

/** The global in-flight request cap (`InFlightLimiter`) for a service on Fastify. */
@Module({})
export class InFlightLimitModule {
  /** Caps the requests the process works on at once at `options.maxInFlight` (0: no cap). */
  static forRoot(options: InFlightLimitOptions): DynamicModule {
    return {
      module: InFlightLimitModule,
      providers: [{ provide: InFlightLimiter, useValue: new InFlightLimiter(options) }, InFlightLimitInstaller],
      exports: [InFlightLimiter],
    };
  }
}
