import type { ServerResponse } from 'node:http';

import { counter, gauge } from '@skreaver/observability';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

import { ApiError } from './api-error';
import { routeOf } from './route';

/** Options of `InFlightLimiter`. */
export interface InFlightLimitOptions {
  /** Most requests one process works on at once; 0 disables the cap. */
  maxInFlight: number;
  /** Route templates never counted nor refused; default the probes `/health`, `/ready`, `/metrics`. */
  exemptRoutes?: readonly string[];
}

const PROBES = ['/health', '/ready', '/metrics'];

const inFlightGauge = gauge({
  name: 'skreaver_http_requests_in_flight',
  help: 'HTTP requests being worked on (until their response headers are sent; probes excluded)',
});
const overloaded = counter({
  name: 'skreaver_http_overloaded_total',
  help: 'HTTP requests refused with 503 overloaded because SKREAVER_MAX_IN_FLIGHT were already in flight',
});

/**
 * A process-wide cap on concurrent HTTP requests: beyond it a request is answered 503 `overloaded` with
 * `Retry-After: 1` at once, before routing to any handler, so a flood degrades into fast refusals instead of
 * queueing up memory and latency for everybody. A request counts from `onRequest` until its response headers
 * are written (or the client goes away): a streamed body (server-sent events) is paced by the client and holds
 * only a socket, so an open stream must not occupy a slot for its whole life.
 */
export class InFlightLimiter {
  private current = 0;
  private readonly exempt: ReadonlySet<string>;

  constructor(private readonly options: InFlightLimitOptions) {
    this.exempt = new Set(options.exemptRoutes ?? PROBES);
  }

  /** Requests counted right now. */
  get inFlight(): number {
    return this.current;
  }

  /** Adds the counting `onRequest` hook to `fastify`; call before it is ready (hooks apply to every route then). */
  install(fastify: FastifyInstance): void {
    if (this.options.maxInFlight <= 0) return;
    fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      if (this.exempt.has(routeOf(request) ?? '')) return done();
      if (this.current >= this.options.maxInFlight) {
        overloaded.inc();
        void reply.header('retry-after', '1');
        return done(new ApiError(503, 'overloaded', `The server is at its limit of ${this.options.maxInFlight} requests in flight; retry in a second`));
      }
      this.acquire(reply.raw);
      done();
    });
  }

  private acquire(response: ServerResponse): void {
    this.current += 1;
    inFlightGauge.inc();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.current -= 1;
      inFlightGauge.dec();
    };
    // Every way of answering goes through writeHead: Fastify's send, a hijacked reply (SSE) writing its own head,
    // and Node's implicit head on the first write(). Node offers no "headers sent" event, hence the wrapper.
    const writeHead = response.writeHead;
    response.writeHead = ((...args: unknown[]): ServerResponse => {
      release();
      return Reflect.apply(writeHead, response, args) as ServerResponse;
    }) as ServerResponse['writeHead'];
    response.once('close', release);
  }
}
