import { SkreaverClient } from '@skreaver/sdk';
import type { SocketIoFactory } from '@skreaver/sdk';
import { io } from 'socket.io-client';

/** Where the tab keeps its access token (this tab only; gone when it closes). Never a URL, never localStorage. */
export const TOKEN_KEY = 'skreaver.console.token';

export type Role = 'admin' | 'operator' | 'viewer';

/** The claims the console reads from its token (unverified: the server checks the token on every call). */
export interface Claims {
  role: Role;
  tenant?: string;
  exp: number;
}

/** A signed-in tab: the SDK client holding the token, and what the token says. */
export interface Session {
  client: SkreaverClient;
  claims: Claims;
}

/** What agent-api tells the console at `/console/config.json`. */
export interface ConsoleConfig {
  /** ws-gateway as the browser reaches it; null: this page's origin (an edge routes /socket.io to the gateway). */
  gateway_url: string | null;
}

/** The claims of a JWT (role, tenant, exp), or null when it is not one. */
export function decodeClaims(token: string): Claims | null {
  try {
    const part = token.split('.')[1] ?? '';
    const payload = part.replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '='))) as Partial<Claims>;
    if (typeof claims.exp !== 'number' || !['admin', 'operator', 'viewer'].includes(String(claims.role))) return null;
    return claims as Claims;
  } catch {
    return null;
  }
}

// socket.io-client's `io` as the SDK's connector wants it (its own option types are wider than the SDK's view).
const socketIo: SocketIoFactory = (url, options) => io(url, options);

/** A session for `token`, or null when the token is unreadable or expired. */
export function sessionFor(token: string, config: ConsoleConfig): Session | null {
  const claims = decodeClaims(token);
  if (!claims || claims.exp * 1000 <= Date.now()) return null;
  const client = new SkreaverClient({ baseUrl: location.origin, token, gatewayUrl: config.gateway_url ?? location.origin, io: socketIo });
  return { client, claims };
}

/** Exchanges an API key for a token; the key is used for this one call and kept nowhere. */
export async function logIn(apiKey: string, config: ConsoleConfig): Promise<Session> {
  const exchange = new SkreaverClient({ baseUrl: location.origin, apiKey });
  const answer = await exchange.auth.token();
  const session = sessionFor(answer.access_token, config);
  if (!session) throw new Error('the server answered an unusable token');
  sessionStorage.setItem(TOKEN_KEY, answer.access_token);
  return session;
}

/** The tab's saved session, if its token is still good. */
export function restoreSession(config: ConsoleConfig): Session | null {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return null;
  const session = sessionFor(token, config);
  if (!session) sessionStorage.removeItem(TOKEN_KEY);
  return session;
}

export function forgetSession(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The console's settings from agent-api (a failure means: same origin). */
export async function loadConfig(): Promise<ConsoleConfig> {
  try {
    const response = await fetch('/console/config.json', { headers: { accept: 'application/json' } });
    if (response.ok) return (await response.json()) as ConsoleConfig;
  } catch {
    // fall through: same origin
  }
  return { gateway_url: null };
}
