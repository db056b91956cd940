import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

import { NetworkPolicyError, normalizeHost } from './network-policy';
import type { NetworkPolicy } from './network-policy';

/** Why an outbound request failed; the policy codes mean nothing was sent. */
export type HttpErrorCode =
  | 'invalid_url'
  | 'domain_refused'
  | 'address_refused'
  | 'dns_failed'
  | 'timeout'
  | 'aborted'
  | 'response_too_large'
  | 'too_many_redirects'
  | 'network_error';

/** An outbound request that did not produce a response. */
export class HttpError extends Error {
  constructor(
    readonly code: HttpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** Whether trying again later could succeed (a refusal or an oversized answer will not). */
  get retryable(): boolean {
    return this.code === 'timeout' || this.code === 'network_error' || this.code === 'dns_failed';
  }
}

/** One outbound HTTP request. */
export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** Whole request including redirects; capped by the client's maximum. */
  timeoutMs?: number;
  /** Larger bodies fail with `response_too_large`; capped by the client's maximum. */
  maxResponseBytes?: number;
  /** Follow 3xx answers (each hop checked again); default true. */
  followRedirects?: boolean;
  /**
   * Sees the final answer's body as it arrives (a streamed reply), each chunk after its status and headers; the
   * whole body is still collected (and limited) in the response. A transport may also deliver it only at the end.
   */
  onChunk?: (chunk: Buffer, head: { status: number; headers: Record<string, string> }) => void;
}

/** The final answer, after any redirects. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** URL of the answer (differs from the request's after redirects). */
  url: string;
  redirects: number;
}

/** What agents and tools use to call the network. */
export interface HttpClient {
  /** @throws HttpError when no response could be obtained (refused by policy, timeout, abort, too large, network). */
  request(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse>;
}

/** One hop, pinned: connect to `address` (already checked) and speak to `url`'s host over it. */
export interface PinnedHop {
  url: URL;
  address: string;
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  /** Told each body chunk as it arrives. */
  onChunk?: HttpRequest['onChunk'];
}

/** Sends one pinned hop; the default speaks node:http(s). Replaceable so tests can see what was sent where. */
export type HopSender = (hop: PinnedHop, signal: AbortSignal, maxBytes: number) => Promise<{ status: number; headers: Record<string, string>; body: Buffer }>;

/** Resolves a host name to every address it has. */
export type HostResolver = (host: string) => Promise<string[]>;

/** Limits (and, for tests, resolver and transport) of a `GuardedHttpClient`. */
export interface GuardedHttpClientOptions {
  /** Longest a request may take (and its default). */
  maxTimeoutMs: number;
  /** Largest response body (and its default). */
  maxResponseBytes: number;
  maxRedirects?: number;
  resolve?: HostResolver;
  send?: HopSender;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
// Set by the client for each hop; a caller choosing them could smuggle requests or break the pinning.
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection']);
// Credentials meant for one origin must not follow a redirect to another.
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization', 'x-api-key']);

const defaultResolve: HostResolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * Outbound HTTP under a `NetworkPolicy`. Per hop: check the URL, resolve the host, check EVERY address, then connect
 * to the first checked address with the original Host header and TLS server name — no second DNS lookup, so the
 * address that was checked is the one connected to. Redirects are followed by hand so each hop is checked again.
 */
export class GuardedHttpClient implements HttpClient {
  private readonly resolve: HostResolver;
  private readonly send: HopSender;

  constructor(
    private readonly policy: NetworkPolicy,
    private readonly options: GuardedHttpClientOptions,
  ) {
    this.resolve = options.resolve ?? defaultResolve;
    this.send = options.send ?? sendOverNode;
  }

  /** A client with the same limits and transport under another policy (e.g. narrowed for one agent). */
  withPolicy(policy: NetworkPolicy): GuardedHttpClient {
    return new GuardedHttpClient(policy, this.options);
  }

  async request(request: HttpRequest, signal?: AbortSignal): Promise<HttpResponse> {
    const timeoutMs = Math.min(request.timeoutMs ?? this.options.maxTimeoutMs, this.options.maxTimeoutMs);
    const maxBytes = Math.min(request.maxResponseBytes ?? this.options.maxResponseBytes, this.options.maxResponseBytes);
    const deadline = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    let url = parseUrl(request.url);
    let method = (request.method ?? 'GET').toUpperCase();
    let body = request.body;
    let headers = cleanHeaders(request.headers ?? {});
    const maxRedirects = request.followRedirects === false ? 0 : (this.options.maxRedirects ?? 5);
    try {
      for (let redirects = 0; ; redirects += 1) {
        const address = await this.checkedAddress(url, combined);
        const onChunk = request.onChunk && streamedUnlessRedirect(request.onChunk, request.followRedirects !== false);
        const answer = await this.send({ url, address, method, headers, body, onChunk }, combined, maxBytes);
        const location = answer.headers['location'];
        if (!REDIRECTS.has(answer.status) || location === undefined || request.followRedirects === false) {
          return { ...answer, url: url.toString(), redirects };
        }
        if (redirects >= maxRedirects) throw new HttpError('too_many_redirects', `more than ${maxRedirects} redirects`);
        const next = parseUrl(location, url);
        if (next.origin !== url.origin) headers = Object.fromEntries(Object.entries(headers).filter(([name]) => !CREDENTIAL_HEADERS.has(name)));
        // 303 always, and 301/302 after a POST in practice, turn into a GET without a body.
        if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
          method = method === 'HEAD' ? 'HEAD' : 'GET';
          body = undefined;
          headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'content-type'));
        }
        url = next;
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      if (error instanceof NetworkPolicyError) throw new HttpError(error.code, error.message);
      if (signal?.aborted) throw new HttpError('aborted', 'the request was aborted');
      if (deadline.aborted) throw new HttpError('timeout', `no answer within ${timeoutMs} ms`);
      throw new HttpError('network_error', error instanceof Error ? error.message : String(error));
    }
  }

  /** Checks the URL and every address its host resolves to; returns the address to connect to. */
  private async checkedAddress(url: URL, signal: AbortSignal): Promise<string> {
    this.policy.checkUrl(url);
    const host = normalizeHost(url.hostname);
    let addresses: string[];
    if (isIP(host)) {
      addresses = [host];
    } else {
      try {
        addresses = await this.resolve(host);
      } catch (error) {
        if (signal.aborted) throw error;
        throw new HttpError('dns_failed', `could not resolve ${host}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (addresses.length === 0) throw new HttpError('dns_failed', `${host} has no addresses`);
    }
    // Every address, not just the first: a name that also resolves to a private address is refused outright.
    for (const address of addresses) this.policy.checkAddress(host, address);
    return addresses[0] as string;
  }
}

/** `onChunk` for the bodies of final answers only (not of a redirect that will be followed). */
function streamedUnlessRedirect(onChunk: NonNullable<HttpRequest['onChunk']>, following: boolean): HttpRequest['onChunk'] {
  return (chunk, head) => {
    if (!(following && REDIRECTS.has(head.status) && head.headers['location'] !== undefined)) onChunk(chunk, head);
  };
}

function parseUrl(text: string, base?: URL): URL {
  try {
    return new URL(text, base);
  } catch {
    throw new HttpError('invalid_url', `not a URL: ${text.slice(0, 200)}`);
  }
}

function cleanHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!RESERVED_HEADERS.has(lower)) clean[lower] = value;
  }
  return clean;
}

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** The default `HopSender`: node:http(s) to the pinned address, Host header and SNI from the URL. */
export const sendOverNode: HopSender = (hop, signal, maxBytes) =>
  new Promise((resolve, reject) => {
    const host = normalizeHost(hop.url.hostname);
    const outgoing: OutgoingHttpHeaders = { ...hop.headers, host: hop.url.host };
    if (hop.body !== undefined) outgoing['content-length'] = Buffer.byteLength(hop.body);
    const options = {
      host: hop.address,
      port: hop.url.port || (hop.url.protocol === 'https:' ? 443 : 80),
      path: `${hop.url.pathname}${hop.url.search}`,
      method: hop.method,
      headers: outgoing,
      signal,
      // A fresh connection per hop: a pooled socket could belong to another (differently checked) name.
      agent: false,
      // Certificates are verified against the name, while the socket goes to the checked address.
      ...(hop.url.protocol === 'https:' && !isIP(host) ? { servername: host } : {}),
    };
    const req = (hop.url.protocol === 'https:' ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const head = { status: res.statusCode ?? 0, headers: flatHeaders(res.headers) };
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy();
          reject(new HttpError('response_too_large', `the response exceeds ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
        try {
          hop.onChunk?.(chunk, head);
        } catch (error) {
          res.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: flatHeaders(res.headers), body: Buffer.concat(chunks) }));
      res.on('error', reject);
      // A connection cut mid-body may only close: settle rather than wait forever (a no-op after 'end').
      res.on('close', () => {
        if (!res.complete) reject(new Error('the connection closed before the response ended'));
      });
    });
    req.on('error', reject);
    req.end(hop.body);
  });
