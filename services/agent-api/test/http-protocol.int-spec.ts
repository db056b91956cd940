import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { errorShapeProblem, rawHttpExchange } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

// Large enough that twice it outgrows the loopback socket buffers: a smaller body is already in the kernel when the
// server closes, and the client never notices the close.
const BODY_LIMIT = 4 * 1024 * 1024;

// The uploads run in a process of their own, as a real client would: in this process the server's close and the
// client's reads share one event loop and take turns, which mostly hides the reset a separate client meets. Whether
// fetch reads the answer before the reset arrives is a race, so each test uploads several times.
const UPLOAD_SCRIPT = `
const [url, authorization, size, mode, times] = process.argv.slice(1);
const total = Number(size);
const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
const bodyOf = () => mode === 'chunked'
  ? new ReadableStream({
      sent: 0,
      pull(controller) {
        if (this.sent >= total) return controller.close();
        controller.enqueue(chunk);
        this.sent += chunk.length;
      },
    })
  : JSON.stringify({ name: 'x'.repeat(total), kind: 'echo' });
(async () => {
  const results = [];
  for (let i = 0; i < Number(times); i += 1) {
    try {
      const response = await fetch(url, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: bodyOf(), duplex: 'half' });
      results.push({ status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() });
    } catch (error) {
      results.push({ failed: String(error) + ': ' + String(error.cause) });
    }
  }
  console.log(JSON.stringify(results));
})();
`;

interface Uploaded {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** POSTs `times` bodies of `size` bytes with Node's global fetch from a child process; chunked sends no Content-Length. */
async function uploadFromAnotherProcess(url: string, authorization: string, size: number, mode: 'sized' | 'chunked', times: number) {
  const args = ['-e', UPLOAD_SCRIPT, url, authorization, String(size), mode, String(times)];
  const { stdout } = await promisify(execFile)(process.execPath, args);
  return JSON.parse(stdout) as Array<Uploaded | { failed: string }>;
}

/** The problems of each upload's answer, as an expected 413 `payload_too_large`. */
function problemsAs413(results: Array<Uploaded | { failed: string }>): Array<string | null> {
  return results.map((result) => ('failed' in result ? result.failed : errorShapeProblem(result, 413, 'payload_too_large')));
}

describe('agent-api at the HTTP protocol level', () => {
  let api: BootedAgentApi;
  let port: number;

  beforeAll(async () => {
    api = await bootAgentApi('sqlite', { SKREAVER_MAX_BODY_SIZE: String(BODY_LIMIT) });
    port = Number(new URL(api.url).port);
  });

  afterAll(async () => {
    await api?.close();
  });

  describe('a body over SKREAVER_MAX_BODY_SIZE', () => {
    const upload = (size: number, mode: 'sized' | 'chunked', times: number) =>
      uploadFromAnotherProcess(`${api.url}/agents`, `Bearer ${api.adminToken}`, size, mode, times);

    it("should reach Node's fetch as 413 payload_too_large in the error shape when sent with a Content-Length of twice the limit", async () => {
      expect(problemsAs413(await upload(2 * BODY_LIMIT, 'sized', 3))).toEqual([null, null, null]);
    });

    it("should reach Node's fetch as 413 when sent chunked and growing to twice the limit", async () => {
      expect(problemsAs413(await upload(2 * BODY_LIMIT, 'chunked', 3))).toEqual([null, null, null]);
    });

    it('should still accept a body just within the limit', async () => {
      const [response] = await upload(BODY_LIMIT - 1_000, 'sized', 1);

      expect(response && !('failed' in response) ? errorShapeProblem(response, 400, 'validation_failed') : response).toBeNull();
    });

    it('should reach a client that writes its whole sized body before reading as 413', async () => {
      const body = JSON.stringify({ name: 'x'.repeat(2 * BODY_LIMIT), kind: 'echo' });
      const head = `POST /agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${api.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;

      const response = await rawHttpExchange(port, head + body);

      expect(errorShapeProblem(response, 413, 'payload_too_large')).toBeNull();
    });

    it('should reach a client that writes its whole chunked body before reading as 413', async () => {
      const chunk = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;
      const head = `POST /agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${api.adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;

      const response = await rawHttpExchange(port, head + chunk.repeat((2 * BODY_LIMIT) / (64 * 1024)) + '0\r\n\r\n');

      expect(errorShapeProblem(response, 413, 'payload_too_large')).toBeNull();
    });

    it('should answer at once, and close, a body announced far beyond what it is worth reading', async () => {
      const head = `POST /agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${api.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${1024 ** 3}\r\n\r\n`;

      const response = await rawHttpExchange(port, Buffer.concat([Buffer.from(head), Buffer.alloc(64 * 1024, 0x20)]));

      expect(errorShapeProblem(response, 413, 'payload_too_large')).toBeNull();
      expect(response.closed).toBe(true);
    });
  });

  describe('requests the HTTP parser or router refuses', () => {
    it.each([
      ['an unknown method', 'BREW / HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
      ['both Content-Length and Transfer-Encoding', 'POST /agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'bad_request'],
      ['a malformed chunk size', 'POST /agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n', 400, 'bad_request'],
      ['a non-numeric Content-Length', 'POST /agents HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}', 400, 'bad_request'],
      ['a 20 KB header', `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'header_too_large'],
    ])('should answer %s in the documented error shape with a request id', async (_label, request, status, code) => {
      const response = await rawHttpExchange(port, request);

      expect(errorShapeProblem(response, status, code)).toBeNull();
    });

    it.each([
      ['a method the router does not serve', 'PROPFIND /agents HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404, 'not_found'],
      ['a malformed URL', 'GET /agents/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
      ['a path parameter over the router limit', `GET /agents/${'a'.repeat(600)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414, 'validation_failed'],
    ])('should answer %s in the documented error shape with the request id', async (_label, request, status, code) => {
      const response = await rawHttpExchange(port, request);

      expect(errorShapeProblem(response, status, code)).toBeNull();
    });

    it("should keep a caller's X-Request-Id when the router refuses the request", async () => {
      const response = await rawHttpExchange(port, 'GET /agents/%zz HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-me-42\r\nConnection: close\r\n\r\n');

      expect(JSON.parse(response.body)).toMatchObject({ request_id: 'trace-me-42' });
    });

    it('should stay up and write no ERROR line', async () => {
      expect((await api.request('GET', '/health')).status).toBe(200);
      expect(api.logs.filter((line) => line.includes('"level":"ERROR"'))).toEqual([]);
    });
  });
});
