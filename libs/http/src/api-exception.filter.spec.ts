import {
  BadGatewayException,
  HttpException,
  MethodNotAllowedException,
  NotFoundException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { JsonLogger } from '@skreaver/observability';
import { errorCodes } from 'fastify';

import { ApiError } from './api-error';
import { ApiExceptionFilter, mapError } from './api-exception.filter';

function withStatusCode<E extends Error>(error: E, statusCode: number): E {
  return Object.assign(error, { statusCode });
}

describe(mapError.name, () => {
  it('should pass an ApiError through with its details', () => {
    const details = [{ path: 'name', message: 'Required' }];

    expect(mapError(new ApiError(422, 'validation_failed', 'Invalid request body', details))).toEqual({
      status: 422,
      code: 'validation_failed',
      message: 'Invalid request body',
      details,
    });
  });

  it('should pass the ApiError factories through', () => {
    expect(mapError(ApiError.notFound('agent 42'))).toMatchObject({ status: 404, code: 'not_found', message: 'agent 42 not found' });
    expect(mapError(ApiError.unavailable('queue_unavailable', 'retry later'))).toMatchObject({
      status: 503,
      code: 'queue_unavailable',
    });
  });

  it("should map Nest's NotFoundException to 404 not_found", () => {
    expect(mapError(new NotFoundException('Cannot GET /nope'))).toEqual({
      status: 404,
      code: 'not_found',
      message: 'Cannot GET /nope',
    });
  });

  it.each([
    ['PayloadTooLargeException', new PayloadTooLargeException(), 413, 'payload_too_large'],
    ['UnsupportedMediaTypeException', new UnsupportedMediaTypeException(), 415, 'unsupported_media_type'],
    ['MethodNotAllowedException', new MethodNotAllowedException(), 405, 'method_not_allowed'],
    ['a plain 409 HttpException', new HttpException('taken', 409), 409, 'conflict'],
    ['a plain 429 HttpException', new HttpException('slow down', 429), 429, 'rate_limited'],
    ['a 5xx HttpException without a code of its own', new BadGatewayException(), 502, 'internal_error'],
  ])('should map %s by its status', (_label, exception, status, code) => {
    expect(mapError(exception)).toMatchObject({ status, code });
  });

  it('should answer an error a dependency outage recognises with 503 and its code, and others as before', () => {
    const outage = { code: 'redis_unavailable' as const, message: 'Redis is unavailable; retry later', matches: (error: unknown) => error instanceof Error && error.message === 'Connection is closed.' };

    expect(mapError(new Error('Connection is closed.'), [outage])).toEqual({ status: 503, code: 'redis_unavailable', message: 'Redis is unavailable; retry later' });
    expect(mapError(new Error('WRONGTYPE'), [outage])).toEqual({ status: 500, code: 'internal_error', message: 'Internal server error' });
    expect(mapError(ApiError.notFound('agent x'), [{ ...outage, matches: () => true }])).toMatchObject({ status: 404 });
  });

  it('should answer a generic Error with 500 internal_error without leaking its message', () => {
    const mapped = mapError(new Error('password authentication failed for user "skreaver"'));

    expect(mapped).toEqual({ status: 500, code: 'internal_error', message: 'Internal server error' });
  });

  it.each([
    ['a string', 'boom'],
    ['null', null],
    ['undefined', undefined],
    ['a plain object', { message: 'secret', statusCode: 400 }],
  ])('should answer a thrown %s with 500 internal_error', (_label, thrown) => {
    expect(mapError(thrown)).toEqual({ status: 500, code: 'internal_error', message: 'Internal server error' });
  });

  it.each([
    ['FST_ERR_CTP_BODY_TOO_LARGE', new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 413, 'payload_too_large'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('text/csv'), 415, 'unsupported_media_type'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 400, 'invalid_json'],
    ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), 400, 'validation_failed'],
  ])("should map Fastify's %s", (_code, error, status, code) => {
    expect(mapError(error)).toEqual({ status, code, message: error.message });
  });

  it('should default a Fastify-coded error without a status to 400', () => {
    const error = Object.assign(new Error('Invalid JSON'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY' });

    expect(mapError(error)).toEqual({ status: 400, code: 'invalid_json', message: 'Invalid JSON' });
  });

  it('should map a body parse SyntaxError with statusCode 400 to invalid_json with a fixed message', () => {
    const error = withStatusCode(new SyntaxError('Unexpected token } in JSON at position 9'), 400);

    expect(mapError(error)).toEqual({ status: 400, code: 'invalid_json', message: 'Request body is not valid JSON' });
  });

  it('should treat a SyntaxError without a client status as a server error', () => {
    expect(mapError(new SyntaxError('Unexpected end of JSON input'))).toMatchObject({ status: 500, code: 'internal_error' });
  });

  it('should map another error carrying a 4xx statusCode by that status', () => {
    expect(mapError(withStatusCode(new Error('Route GET:/x not found'), 404))).toEqual({
      status: 404,
      code: 'not_found',
      message: 'Route GET:/x not found',
    });
  });

  it('should hide the message of an error carrying a 5xx statusCode', () => {
    expect(mapError(withStatusCode(new Error('upstream exploded'), 502))).toEqual({
      status: 500,
      code: 'internal_error',
      message: 'Internal server error',
    });
  });
});

describe(ApiExceptionFilter.name, () => {
  interface Sent {
    status?: number;
    body?: unknown;
  }

  function hostFor(sent: Sent): ArgumentsHost {
    const reply = {
      status: (code: number) => ((sent.status = code), reply),
      header: () => reply,
      send: (body: unknown) => ((sent.body = body), reply),
    };
    const request = { id: 'req-1', url: '/agents/a/runs' };
    return { switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }) } as unknown as ArgumentsHost;
  }

  it("should write one warning for an outage, naming the dependency's error an ApiError keeps as its cause", () => {
    const lines: string[] = [];
    const filter = new ApiExceptionFilter(new JsonLogger('test', 'trace', (line) => lines.push(line)));
    const sent: Sent = {};

    filter.catch(ApiError.unavailable('queue_unavailable', 'retry later', new Error('connect ECONNREFUSED 127.0.0.1:6379')), hostFor(sent));

    expect(sent).toEqual({ status: 503, body: { error: 'queue_unavailable', message: 'retry later', request_id: 'req-1' } });
    expect(lines.map((line) => JSON.parse(line) as { level: string; fields: Record<string, unknown> })).toEqual([
      expect.objectContaining({
        level: 'WARN',
        fields: expect.objectContaining({ code: 'queue_unavailable', cause: 'Error: connect ECONNREFUSED 127.0.0.1:6379' }),
      }),
    ]);
  });
});
