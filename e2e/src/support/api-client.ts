import { withDefaultCredentials } from './credentials';

/** A JSON response: status, headers and the parsed body. */
export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * Calls the API with a JSON body (or raw text, to send malformed JSON) and parses the JSON answer. Requests to a
 * stack's agent-api carry its admin token unless `headers` set a credential or `anonymous` is true.
 */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  options: { raw?: string; headers?: Record<string, string>; anonymous?: boolean } = {},
): Promise<JsonResponse<T>> {
  const hasBody = body !== undefined || options.raw !== undefined;
  const headers = { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...options.headers };
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: options.anonymous ? headers : withDefaultCredentials(baseUrl, headers),
    body: options.raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
}
