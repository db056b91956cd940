import { Catch, HttpException } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import type { ApiErrorBody, ApiErrorCode } from '@skreaver/contracts';
import type { JsonLogger } from '@skreaver/observability';
import type { DependencyOutage } from '@skreaver/util';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { ApiError } from './api-error';
import { requestContextOf } from './request-context';

const OUTAGE_CODES: ReadonlySet<ApiErrorCode> = new Set<DependencyOutage['code']>(['database_unavailable', 'redis_unavailable', 'queue_unavailable']);

interface Mapped {
  status: number;
  code: ApiErrorCode;
  message: string;
  details?: unknown;
}

// Fastify's own errors (body parsing, content types) carry a `code` and a `statusCode`.
const FASTIFY_CODES: Record<string, ApiErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

const STATUS_CODES: Record<number, ApiErrorCode> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'not_ready',
};

/** Maps anything thrown to `{error, message, details?, request_id}`; stack traces stay in the server log. */
export function mapError(exception: unknown, outages: readonly DependencyOutage[] = []): Mapped {
  if (exception instanceof ApiError) {
    return { status: exception.status, code: exception.code, message: exception.message, details: exception.details };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    return { status, code: STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'validation_failed'), message: exception.message };
  }
  if (exception instanceof Error) {
    const { code, statusCode } = exception as Error & { code?: string; statusCode?: number };
    if (code && FASTIFY_CODES[code]) {
      return { status: statusCode ?? 400, code: FASTIFY_CODES[code], message: exception.message };
    }
    // JSON.parse failures surface as SyntaxError with statusCode 400.
    if (exception instanceof SyntaxError && statusCode === 400) {
      return { status: 400, code: 'invalid_json', message: 'Request body is not valid JSON' };
    }
    if (statusCode && statusCode >= 400 && statusCode < 500) {
      return { status: statusCode, code: STATUS_CODES[statusCode] ?? 'validation_failed', message: exception.message };
    }
  }
  const outage = outages.find((candidate) => candidate.matches(exception));
  if (outage) return { status: 503, code: outage.code, message: outage.message };
  return { status: 500, code: 'internal_error', message: 'Internal server error' };
}

/** The one exception filter of every HTTP service. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly logger: JsonLogger,
    private readonly outages: readonly DependencyOutage[] = [],
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const mapped = mapError(exception, this.outages);
    if (mapped.status === 503 && OUTAGE_CODES.has(mapped.code)) {
      // An outage is the operator's news (readiness reports it), not a bug: one line per request, no stack. This is
      // that request's only line, so it names the dependency's own error, which code throwing an ApiError keeps as its cause.
      const cause = exception instanceof Error && exception.cause !== undefined ? { cause: String(exception.cause) } : {};
      this.logger.write('warn', 'Dependency unavailable', { code: mapped.code, error: String(exception), ...cause, path: request.url }, 'http', requestContextOf(request));
    } else if (mapped.status >= 500) {
      const error = exception instanceof Error ? exception : new Error(String(exception));
      this.logger.write('error', error.message, { error: error.name, stack: error.stack, path: request.url }, 'http', requestContextOf(request));
    }
    const body: ApiErrorBody = {
      error: mapped.code,
      message: mapped.message,
      ...(mapped.details === undefined ? {} : { details: mapped.details }),
      request_id: String(request.id),
    };
    // RFC 7235: every 401 names the scheme that would work.
    if (mapped.status === 401) void reply.header('www-authenticate', 'Bearer realm="skreaver"');
    void reply.status(mapped.status).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
