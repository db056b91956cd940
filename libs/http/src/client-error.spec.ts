import { PassThrough } from 'node:stream';

import { ApiErrorBody } from '@skreaver/contracts';
import { JsonLogger } from '@skreaver/observability';

import { clientErrorAnswer, createClientErrorHandler } from './client-error';
import type { InFlightRequest } from './client-error';

const parseError = (code: string) => Object.assign(new Error(`Parse Error: ${code}`), { code });

describe(clientErrorAnswer.name, () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 431, 'header_too_large'],
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'request_timeout'],
    ['HPE_INVALID_METHOD', 400, 'bad_request'],
    ['HPE_UNEXPECTED_CONTENT_LENGTH', 400, 'bad_request'],
    ['HPE_SOMETHING_NEW', 400, 'bad_request'],
  ])('should answer %s with %i %s', (code, status, error) => {
    expect(clientErrorAnswer(parseError(code))).toMatchObject({ status, code: error });
  });

  it('should answer nobody on a connection the client reset', () => {
    expect(clientErrorAnswer(parseError('ECONNRESET'))).toBeNull();
  });
});

describe(createClientErrorHandler.name, () => {
  const written = async (socket: PassThrough) => {
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const [head = '', body = ''] = text.split('\r\n\r\n');
    return { head, body: JSON.parse(body) as unknown };
  };

  it('should write the error shape with a new request id, in the body and the x-request-id header, and log it', async () => {
    const lines: string[] = [];
    const handle = createClientErrorHandler(new JsonLogger('test', 'info', (line) => lines.push(line)), new WeakMap());
    const socket = new PassThrough();

    handle(parseError('HPE_INVALID_METHOD'), socket);
    const { head, body } = await written(socket);

    const parsed = ApiErrorBody.strict().parse(body);
    expect(parsed).toMatchObject({ error: 'bad_request', message: 'Unknown HTTP method' });
    expect(head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(head).toContain(`x-request-id: ${parsed.request_id}`);
    expect(head).toContain('connection: close');
    expect(lines).toHaveLength(1);
  });

  it('should answer under the id of the request in flight on the connection', async () => {
    const socket = new PassThrough();
    const inFlight = new WeakMap<PassThrough, InFlightRequest>([[socket, { id: 'req-7', responseStarted: () => false }]]);

    createClientErrorHandler(new JsonLogger('test', 'error', () => undefined), inFlight)(parseError('HPE_INVALID_CHUNK_SIZE'), socket);

    expect((await written(socket)).body).toMatchObject({ error: 'bad_request', request_id: 'req-7' });
  });

  it('should only close a connection whose response has started, and answer a connection once', () => {
    const socket = new PassThrough();
    const write = jest.spyOn(socket, 'end');
    const inFlight = new WeakMap<PassThrough, InFlightRequest>([[socket, { id: 'req-8', responseStarted: () => true }]]);
    const handle = createClientErrorHandler(new JsonLogger('test', 'error', () => undefined), inFlight);

    handle(parseError('HPE_INVALID_CHUNK_SIZE'), socket);
    handle(parseError('HPE_INVALID_CHUNK_SIZE'), socket);

    expect(write).not.toHaveBeenCalled();
    expect(socket.destroyed).toBe(true);
  });
});
