import { Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';

import type { RouteKey } from '../auth/access-policy';

/**
 * Every route Fastify registers, as it registers it (HEAD twins included). The `onRoute` hook is added when this
 * provider is constructed, which is before Nest registers any controller's routes (that happens at app init).
 */
@Injectable()
export class RouteCatalog {
  private readonly routes: RouteKey[] = [];

  constructor(adapterHost: HttpAdapterHost) {
    const adapter = adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    adapter?.getInstance<FastifyInstance>().addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) this.routes.push({ method, url: route.url });
    });
  }

  /** The routes registered so far (all of them once the app has started). */
  list(): readonly RouteKey[] {
    return this.routes;
  }
}
