/** What the console needs to know of its deployment. */
export interface ConsoleSettings {
  /** ws-gateway's origin when it is not the console's own (`SKREAVER_CONSOLE_GATEWAY_URL`). */
  gatewayOrigin?: string;
  /** The Content-Security-Policy of every console response. */
  csp: string;
}

export const CONSOLE_SETTINGS = Symbol('CONSOLE_SETTINGS');

/**
 * What the console may load and call: its own files and agent-api (same origin), plus ws-gateway's origin when it
 * has its own (over http(s) for the handshake and ws(s) for the socket). No inline script or style, no eval, no
 * frames, no plug-ins; the token lives in the page (sessionStorage), so an injected script is what this policy
 * exists to stop.
 */
export function consoleCsp(gatewayOrigin?: string): string {
  const gateway = gatewayOrigin ? ` ${gatewayOrigin} ${gatewayOrigin.replace(/^http/, 'ws')}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self'${gateway}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The settings from the configured gateway URL (an origin; a trailing slash dropped). */
export function consoleSettings(gatewayUrl: string | undefined): ConsoleSettings {
  const gatewayOrigin = gatewayUrl ? gatewayUrl.replace(/\/+$/, '') : undefined;
  return { gatewayOrigin, csp: consoleCsp(gatewayOrigin) };
}
