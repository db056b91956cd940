import type { JsonValue } from '@skreaver/contracts';
import { JsonValue as JsonValueSchema } from '@skreaver/contracts';
import { z } from 'zod';

import { redactUrl } from '../redaction';
import { defineTool } from './tool-definition';

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

const HttpRequestInput = z.strictObject({
  url: z.string().min(1).max(8_192).describe('http:// or https:// URL'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'a header name'), z.string().max(8_192)).default({}),
  body: z
    .union([z.string().max(1_000_000), z.object({ json: JsonValueSchema })])
    .optional()
    .describe('a string sent as is, or {"json": value} sent as application/json'),
  timeout_ms: z.number().int().min(1).max(600_000).optional().describe("capped by the coordinator's maximum"),
  max_response_bytes: z.number().int().min(1).max(64 * 1024 * 1024).optional().describe("capped by the coordinator's maximum"),
  follow_redirects: z.boolean().default(true),
});

/**
 * `http_request`: calls a URL under the agent's network policy (domain lists; private, loopback, link-local and
 * metadata addresses refused after DNS and on every redirect unless the operator allowed them). Its `tool.call` events
 * show header values and URL credentials masked by the shared policy (`redactSecrets`, applied by the run's toolbox).
 * Sends `Idempotency-Key: <run_id>:<ordinal>` (unless the input sets one): a request repeated after a crash carries
 * the same key.
 */
export const httpRequestTool = defineTool({
  name: 'http_request',
  description:
    'Makes an HTTP request and returns status, headers and body (parsed when the answer is JSON). Private, loopback, link-local and cloud-metadata addresses are refused unless the operator allowed them.',
  inputSchema: HttpRequestInput,
  async run(input, context) {
    const headers: Record<string, string> = { ...input.headers };
    // The same key on every attempt that sends this request, so the receiver can tell a repeat (see ToolContext).
    const named = (wanted: string) => Object.keys(headers).some((name) => name.toLowerCase() === wanted);
    if (context.idempotencyKey && !named('idempotency-key')) headers['idempotency-key'] = context.idempotencyKey;
    let body: string | undefined;
    if (typeof input.body === 'string') body = input.body;
    else if (input.body !== undefined) {
      body = JSON.stringify(input.body.json);
      if (!named('content-type')) headers['content-type'] = 'application/json';
    }
    const response = await context.http.request(
      {
        url: input.url,
        method: input.method,
        headers,
        body,
        timeoutMs: input.timeout_ms,
        maxResponseBytes: input.max_response_bytes,
        followRedirects: input.follow_redirects,
      },
      context.signal,
    );
    return {
      status: response.status,
      ok: response.status >= 200 && response.status < 300,
      // The final URL is logged in tool.result and often ends up in the output: its credentials stay masked there too.
      url: redactUrl(response.url),
      redirects: response.redirects,
      headers: response.headers,
      body: decodeBody(response.headers['content-type'], response.body),
    };
  },
});

/** JSON answers parsed, text as text, anything else base64 (so the result stays JSON). */
function decodeBody(contentType: string | undefined, body: Buffer): JsonValue {
  if (body.length === 0) return null;
  const type = contentType ?? '';
  if (/json/i.test(type)) {
    try {
      return JsonValueSchema.parse(JSON.parse(body.toString('utf8')));
    } catch {
      return body.toString('utf8');
    }
  }
  if (!type || TEXT_TYPES.test(type)) return body.toString('utf8');
  return { base64: body.toString('base64'), content_type: type };
}
