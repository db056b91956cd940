import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';

import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ApiErrorBody } from '@skreaver/contracts';
import { HttpMetrics, JsonLogger, ReadinessService } from '@skreaver/observability';
import type { DependencyOutage } from '@skreaver/util';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

import { ApiError } from './api-error';
import { ApiExceptionFilter, mapError } from './api-exception.filter';
import { ZodDtoValidationPipe } from './zod-validation.pipe';
import { createClientErrorHandler } from './client-error';
import type { InFlightRequest, InFlightRequests } from './client-error';
import { jsonNestsDeeperThan } from './json-depth';
import { readRequestBody } from './request-body';
import { attachRequestContext, requestContextOf } from './request-context';
import { routeOf } from './route';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const QUIET_ROUTES = new Set(['/health', '/ready', '/metrics']);
// Far beyond any real config or input, and well below the depth at which recursive validation overflows the
// stack (between 1,000 and 5,000 levels).
const MAX_JSON_DEPTH = 256;
const DEFAULT_BODY_LIMIT = 1024 * 1024;
// How much of an oversized body is read and dropped so the client gets its 413 (see `RequestBodyLimits.drainLimit`):
// a few times the limit, at least 16 MiB. Reading costs bandwidth only, never memory.
const drainLimitFor = (bodyLimit: number) => Math.max(16 * 1024 * 1024, 4 * bodyLimit);

// The reply a connection is working on, a field of its socket, for the client-error handler. Per request it is one
// store, where a WeakMap entry plus a closure per request cost allocations and ephemerons for the garbage collector;
// the handler's `InFlightRequest` is built only when a parser error needs it.
const REPLY_IN_FLIGHT = Symbol('skreaver.replyInFlight');

interface WithReplyInFlight {
  [REPLY_IN_FLIGHT]?: FastifyReply;
}

const inFlightRequests: InFlightRequests = {
  get(socket: Duplex): InFlightRequest | undefined {
    const reply = (socket as WithReplyInFlight)[REPLY_IN_FLIGHT];
    return reply && { id: String(reply.request.id), responseStarted: () => reply.raw.headersSent };
  },
};

export interface ServiceAppOptions {
  logger: JsonLogger;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** Errors that mean a dependency is down, answered 503 with their code wherever they surface. */
  dependencyOutages?: readonly DependencyOutage[];
}

/** Creates a Nest app on Fastify with request ids, JSON request logs, HTTP metrics and the one error format. */
export async function createServiceApp(module: unknown, options: ServiceAppOptions): Promise<NestFastifyApplication> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const adapter = new FastifyAdapter({
    bodyLimit,
    // A caller's X-Request-Id is kept (if sane) so one id follows a request across services.
    genReqId: (req: { headers: IncomingHttpHeaders }) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    logger: false,
    return503OnClosing: true,
    // Memory keys may be 256 characters; Fastify's default (100) would answer longer path parameters with 414.
    routerOptions: { maxParamLength: 512 },
    // A malformed URL (`/agents/%zz`) fails in the router, before any route, hook or exception filter: without this
    // Fastify answers in its own format and without the request id.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const mapped = mapError(error);
      const body: ApiErrorBody = { error: mapped.code, message: mapped.message, request_id: String(request.id) };
      void reply.code(mapped.status).header('x-request-id', request.id).send(body);
    },
    // What Node's HTTP parser refuses (unknown methods, broken framing, 431) never becomes a request: without this
    // Fastify writes `{"error":"Bad Request","statusCode":400}`, without a request id.
    clientErrorHandler: createClientErrorHandler(options.logger, inFlightRequests),
  });
  const app = await NestFactory.create<NestFastifyApplication>(module as never, adapter, {
    logger: options.logger,
    bufferLogs: false,
    // Our own JSON parser below: Nest would turn Fastify's parse errors into code-less HttpExceptions.
    bodyParser: false,
  });
  const metrics = app.get(HttpMetrics);
  const fastify = app.getHttpAdapter().getInstance();
  // The APIs speak JSON only: any other body type answers 415 instead of reaching validation as a string.
  fastify.removeContentTypeParser('text/plain');
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  // The body is read here rather than by Fastify (`parseAs`), which stops reading at the limit and closes the
  // connection under a client still sending: such clients saw EPIPE instead of the 413.
  fastify.addContentTypeParser('application/json', (request, payload, done) => {
    const limit = request.routeOptions.bodyLimit ?? bodyLimit;
    const announced = request.headers['content-length'];
    readRequestBody(payload, { limit, drainLimit: drainLimitFor(limit), contentLength: announced === undefined ? undefined : Number(announced) }).then(
      (raw) => {
        const text = raw.toString('utf8');
        if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
          return done(new ApiError(400, 'validation_failed', `Request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels`), undefined);
        }
        parseJson(request, text, (error: Error | null, value?: unknown) =>
          error ? done(new ApiError(400, 'invalid_json', error.message), undefined) : done(null, value),
        );
      },
      (error: Error) => done(error, undefined),
    );
  });

  fastify.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    void reply.header('x-request-id', request.id);
    (request.raw.socket as WithReplyInFlight)[REPLY_IN_FLIGHT] = reply;
    attachRequestContext(request);
    done();
  });
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    (request.raw.socket as WithReplyInFlight)[REPLY_IN_FLIGHT] = undefined;
    const route = routeOf(request) ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.observe(request.method, route, reply.statusCode, seconds);
    const level = QUIET_ROUTES.has(route) && reply.statusCode < 400 ? 'debug' : 'info';
    // The fields are built only for a line that is written (LOG_LEVEL=warn writes none).
    if (!options.logger.isEnabled(level)) return done();
    options.logger.write(
      level,
      'Request processed',
      {
        request_id: request.id,
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'http',
      requestContextOf(request),
    );
    done();
  });

  app.useGlobalFilters(new ApiExceptionFilter(options.logger, options.dependencyOutages));
  app.useGlobalPipes(new ZodDtoValidationPipe());
  return app;
}

export interface ListenOptions {
  port: number;
  host: string;
  shutdownTimeoutMs: number;
  /** Connections the kernel queues before the app accepts them (capped by `net.core.somaxconn`); Node's default 511 when absent. */
  backlog?: number;
}

/**
 * Listens, and on SIGTERM/SIGINT drains: `/ready` turns 503, Nest closes modules (workers finish or hand back
 * their jobs, sockets close), then the process exits 0 — or 1 if draining outlived the timeout.
 */
export async function listenWithGracefulShutdown(app: NestFastifyApplication, options: ListenOptions): Promise<void> {
  const logger = app.get(JsonLogger);
  const readiness = app.get(ReadinessService);
  await app.listen({ port: options.port, host: options.host, ...(options.backlog === undefined ? {} : { backlog: options.backlog }) });
  logger.write('info', 'Listening', { port: options.port, host: options.host, ...(options.backlog === undefined ? {} : { backlog: options.backlog }) }, 'bootstrap');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.write('info', 'Shutting down', { signal }, 'bootstrap');
    readiness.markShuttingDown();
    const timer = setTimeout(() => {
      logger.write('error', 'Shutdown timed out', { timeout_ms: options.shutdownTimeoutMs }, 'bootstrap');
      process.exit(1);
    }, options.shutdownTimeoutMs);
    timer.unref();
    app.close().then(
      () => {
        logger.write('info', 'Stopped', {}, 'bootstrap');
        process.exit(0);
      },
      (error: unknown) => {
        logger.write('error', 'Shutdown failed', { error: String(error) }, 'bootstrap');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
