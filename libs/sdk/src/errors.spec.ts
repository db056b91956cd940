import { SkreaverError, errorFromResponse, retryAfterSeconds } from './errors';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('errorFromResponse', () => {
  it("should map the API's error body to status, code, message, requestId and details", async () => {
    const error = await errorFromResponse(
      json(400, { error: 'validation_failed', message: 'input is wrong', details: [{ path: 'name', message: 'required' }], request_id: 'req-1' }, { 'x-request-id': 'other' }),
    );
    expect(error).toBeInstanceOf(SkreaverError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'SkreaverError', status: 400, code: 'validation_failed', message: 'input is wrong', requestId: 'req-1', details: [{ path: 'name', message: 'required' }] });
  });

  it('should carry the wait a 429 asks for', async () => {
    const error = await errorFromResponse(json(429, { error: 'rate_limited', message: 'slow down', request_id: 'r' }, { 'retry-after': '7' }));
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSeconds: 7 });
  });

  it('should answer invalid_response, with the X-Request-Id, for a body that is not the API error (a proxy page)', async () => {
    const error = await errorFromResponse(new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'x-request-id': 'edge-9' } }));
    expect(error).toMatchObject({ status: 502, code: 'invalid_response', requestId: 'edge-9', details: undefined });
    expect(error.message).toContain('Bad Gateway');
  });
});

describe('retryAfterSeconds', () => {
  it('should read Retry-After as seconds or as an HTTP date, else RateLimit-Reset', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterSeconds(new Headers({ 'retry-after': '3' }), now)).toBe(3);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5);
    expect(retryAfterSeconds(new Headers({ 'ratelimit-reset': '12' }), now)).toBe(12);
    expect(retryAfterSeconds(new Headers({ 'retry-after': '2', 'ratelimit-reset': '12' }), now)).toBe(2);
    expect(retryAfterSeconds(new Headers({}), now)).toBeUndefined();
  });
});
