import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { RequestContext } from '@skreaver/observability';
import type { FastifyRequest } from 'fastify';

// A field of the request under a symbol only this module holds, set in the onRequest hook (service-app.ts). It
// replaces an AsyncLocalStorage, whose promise hooks cost every promise in the process (issue 17): code that logs or
// audits for a request reads the context from the request it has and passes it on.
const REQUEST_CONTEXT = Symbol('skreaver.requestContext');

interface WithRequestContext {
  [REQUEST_CONTEXT]?: RequestContext;
}

/** Gives `request` its log context (done once, by the onRequest hook of `createServiceApp`). */
export function attachRequestContext(request: FastifyRequest): void {
  (request as WithRequestContext)[REQUEST_CONTEXT] = { requestId: String(request.id) };
}

/** The log context of `request`: what `JsonLogger.write` needs for a line to carry the request's id and subject. */
export function requestContextOf(request: FastifyRequest): RequestContext {
  const holder = request as WithRequestContext;
  // A request refused before onRequest (a malformed URL) still gets one, so callers never branch.
  return (holder[REQUEST_CONTEXT] ??= { requestId: String(request.id) });
}

/** The id of the request being handled, as a handler parameter: `handler(@RequestId() requestId: string)`; audit records carry it. */
export const RequestId = createParamDecorator((_data: unknown, context: ExecutionContext): string => String(context.switchToHttp().getRequest<FastifyRequest>().id));

/** The request's log context as a handler parameter: `handler(@RequestLog() log: RequestContext)`, for services that log for it. */
export const RequestLog = createParamDecorator((_data: unknown, context: ExecutionContext): RequestContext => requestContextOf(context.switchToHttp().getRequest<FastifyRequest>()));
