import type { TokenResponse } from './contracts';

import { SkreaverError, errorFromResponse, isAbort } from './errors';
import type { SocketIoFactory } from './stream';

/** The `fetch` the client calls (the global one by default; pass another for tests, proxies or old runtimes). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** How a client retries: only idempotent calls, only on 429, 503 and network errors. */
export interface RetryOptions {
  /** Retries after the first attempt (3: at most 4 attempts). 0 turns retries off. */
  retries?: number;
  /** First backoff delay when the server gives none; doubles per attempt, with full jitter. */
  initialDelayMs?: number;
  /** Cap of one delay; a server asking to wait longer than this is not retried (the error is thrown). */
  maxDelayMs?: number;
}

export interface SkreaverClientOptions {
  /** agent-api's base URL, e.g. `http://localhost:8080`. */
  baseUrl: string;
  /** An API key (`sk_…`): exchanged at `POST /auth/token` for a token, refreshed before it expires. */
  apiKey?: string;
  /** An access token, used as is (no refresh). */
  token?: string;
  /** ws-gateway's base URL, e.g. `http://localhost:8081`: needed by `agents.watch`, and (with `io`) by `runs.stream` over socket.io. */
  gatewayUrl?: string;
  fetch?: FetchLike;
  retry?: RetryOptions;
  /** Headers sent with every call (e.g. a `User-Agent` in Node). */
  headers?: Record<string, string>;
  /** The WebSocket constructor `agents.watch` uses (the global one by default; Node 20 has none: pass `ws`'s). */
  WebSocket?: WebSocketConstructor;
  /** socket.io-client's `io`: with `gatewayUrl`, `runs.stream` and `agents.watch` use socket.io (`/agents`) instead of SSE and `/ws`. Not bundled: injected. */
  io?: SocketIoFactory;
}

/** What `agents.watch` needs of a WebSocket implementation (the browser's, Node 22's, or the `ws` package's). */
export interface WebSocketConstructor {
  new (url: string): WebSocketLike;
}
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code?: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (and any retry wait); the call rejects with the signal's reason. */
  signal?: AbortSignal;
}

export type QueryValue = string | number | boolean | undefined | null;

/** One HTTP call as the namespaces describe it. */
export interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with its parameters already encoded (see {@link path}). */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** false: no credential (health, token exchange). */
  auth?: boolean;
  /** Safe to send twice: GET, PUT, and POST with an `Idempotency-Key`. Only these are retried. */
  idempotent?: boolean;
}

/** Builds a path from a template literal, encoding each parameter: path`/agents/${id}`. */
export function path(strings: TemplateStringsArray, ...params: string[]): string {
  return strings.reduce((out, part, index) => out + part + (index < params.length ? encodeURIComponent(params[index] as string) : ''), '');
}

// The published SDK has no dependencies, so it keeps its own copy of @skreaver/util's sleep.
/** Resolves after `ms`, or rejects early with the signal's reason when aborted. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Exponential backoff with full jitter: a random delay in [0, min(cap, initial·2^attempt)]. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  return Math.round(random() * Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30)));
}

/** `promise`, or the signal's reason as soon as it aborts (the shared work goes on for the other callers). */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Refresh a token this long (or a tenth of its lifetime, if shorter) before it expires. */
const REFRESH_MARGIN_MS = 60_000;

/** The HTTP layer every namespace shares: URL, credentials, error mapping, retries. */
export class Transport {
  readonly baseUrl: string;
  readonly fetch: FetchLike;
  private readonly retries: number;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private token: string | undefined;
  private tokenExpiresAt = Infinity;
  private tokenRefreshAt = Infinity;
  private exchange: Promise<string> | undefined;

  constructor(readonly options: SkreaverClientOptions) {
    if (!options.baseUrl) throw new TypeError('SkreaverClient: baseUrl is required');
    if (options.apiKey && options.token) throw new TypeError('SkreaverClient: pass apiKey or token, not both');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    const fetchImpl = options.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (!fetchImpl) throw new TypeError('SkreaverClient: no fetch in this runtime; pass options.fetch');
    // Unbound, the browser's fetch throws "Illegal invocation".
    this.fetch = options.fetch ?? ((input, init) => fetchImpl.call(globalThis, input, init));
    this.retries = Math.max(0, options.retry?.retries ?? 3);
    this.initialDelayMs = options.retry?.initialDelayMs ?? 250;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 30_000;
    this.token = options.token;
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined && value !== null) params.append(key, String(value));
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  /** Sends `call` and parses its JSON answer; throws a {@link SkreaverError} on any non-2xx. */
  async json<T>(call: Call): Promise<T> {
    const response = await this.send(call);
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new SkreaverError({ status: response.status, code: 'invalid_response', message: `answer is not JSON: ${text.slice(0, 200)}`, requestId: response.headers.get('x-request-id') ?? '', cause });
    }
  }

  /**
   * Sends `call` with its credential and answers the 2xx response unread. Retries idempotent calls on 429, 503 and
   * network errors (waiting what `Retry-After` / `RateLimit-Reset` says, else backing off), at most `retries` times;
   * a 401 with a token minted from the API key is retried once with a fresh token.
   */
  async send(call: Call): Promise<Response> {
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json', ...this.options.headers, ...call.headers };
      if (call.body !== undefined) headers['content-type'] = 'application/json';
      if (call.auth !== false) {
        const token = await this.credential(call.signal);
        if (token) headers['authorization'] = `Bearer ${token}`;
      }
      let response: Response;
      try {
        response = await this.fetch(this.url(call.path, call.query), {
          method: call.method,
          headers,
          body: call.body === undefined ? undefined : JSON.stringify(call.body),
          signal: call.signal,
        });
      } catch (cause) {
        if (isAbort(cause, call.signal)) throw call.signal?.reason ?? cause;
        const error = new SkreaverError({ status: 0, code: 'network_error', message: `${call.method} ${call.path}: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
        if (call.idempotent && attempt < this.retries) {
          await sleep(backoffMs(attempt, this.initialDelayMs, this.maxDelayMs), call.signal);
          continue;
        }
        throw error;
      }
      if (response.ok) return response;
      const error = await errorFromResponse(response);
      if (error.status === 401 && this.options.apiKey && call.auth !== false && !refreshed) {
        refreshed = true;
        this.forgetToken();
        attempt -= 1;
        continue;
      }
      if (call.idempotent && attempt < this.retries && (error.status === 429 || error.status === 503)) {
        const asked = error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000;
        if (asked === undefined || asked <= this.maxDelayMs) {
          await sleep(asked ?? backoffMs(attempt, this.initialDelayMs, this.maxDelayMs), call.signal);
          continue;
        }
      }
      throw error;
    }
  }

  /** The bearer credential: the given token, or one minted from the API key (refreshed ahead of its expiry). */
  async credential(signal?: AbortSignal): Promise<string | undefined> {
    if (!this.options.apiKey) return this.token;
    if (this.token && Date.now() < this.tokenRefreshAt) return this.token;
    if (this.token && Date.now() < this.tokenExpiresAt) {
      // Still valid: refresh in the background, keep using it meanwhile.
      this.refresh().catch(() => undefined);
      return this.token;
    }
    return abortable(this.refresh(), signal);
  }

  /** Exchanges the API key for a token (one exchange at a time, however many calls wait for it). */
  private refresh(): Promise<string> {
    this.exchange ??= this.exchangeKey().finally(() => (this.exchange = undefined));
    return this.exchange;
  }

  private async exchangeKey(): Promise<string> {
    const answer = await this.json<TokenResponse>({ method: 'POST', path: '/auth/token', auth: false, headers: { 'x-api-key': this.options.apiKey as string }, idempotent: true });
    this.useToken(answer);
    return answer.access_token;
  }

  /** Adopts a token answer (its expiry decides when the next refresh happens). */
  useToken(answer: TokenResponse): void {
    const lifetimeMs = answer.expires_in * 1000;
    this.token = answer.access_token;
    this.tokenExpiresAt = Date.now() + lifetimeMs;
    this.tokenRefreshAt = this.tokenExpiresAt - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 10);
  }

  /** Drops the cached token (after a 401 or a revoke): the next call exchanges the key again. */
  forgetToken(): void {
    if (!this.options.apiKey) return;
    this.token = undefined;
    this.tokenExpiresAt = Infinity;
    this.tokenRefreshAt = Infinity;
  }
}
