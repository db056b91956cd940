import { isDeepStrictEqual } from 'node:util';

import type { JsonValue } from '@skreaver/contracts';

/**
 * The one redaction policy of Skreaver: what agent configs returned by the API and `tool.call` events show instead of
 * credentials, and how a config sent back with those placeholders gets its stored credentials again (only while they
 * still go where they were set to go).
 */

/** What a write-only value is shown as, in agent configs and run events alike (clients rely on this exact text). */
export const REDACTED = '[redacted]';

// Request headers whose values carry no credential. Every other header value is write-only: a header missing here is
// only masked, whereas a credential header listed here would be shown, so the list stays small.
const HARMLESS_HEADERS: ReadonlySet<string> = new Set([
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-encoding',
  'content-language',
  'content-type',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-unmodified-since',
  'pragma',
  'range',
  'user-agent',
]);

// Keys (at any depth) whose values are credentials: a webhook's secret, an llm api_key, a plugin's token, …
const SECRET_KEY = /secret|passw(or)?d|passphrase|api[-_]?key|access[-_]?key|private[-_]?key|token|authori[sz]ation|(^|[-_])auth([-_]|$)|cookie|credential|signature/i;

// Keys holding request headers (`headers`, `default_headers`, …): their values are masked by header name instead.
const HEADERS_KEY = /(^|[-_])headers$/i;

// Query and fragment parameters that carry credentials (`?access_token=`, `?sig=`, `#access_token=`, AWS presigning).
const SECRET_PARAM = /^(key|sig|auth|pwd|pass)$|token|secret|passw(or)?d|api[-_]?key|access[-_]?key|signature|credential|session/i;

// Keys naming where an object's contents are sent: a stored secret only goes back to the destination it was set for.
const DESTINATION_KEY = /^(url|uri|href|endpoint|host|hostname|domain|tool)$|[-_](url|uri|endpoint|host)$/i;

const URL_LIKE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** True for the few request headers whose values are shown (case-insensitive); every other header value is write-only. */
export function isHarmlessHeader(name: string): boolean {
  return HARMLESS_HEADERS.has(name.toLowerCase());
}

/** The headers as logs and configs show them: each value masked unless its header is harmless. */
export function redactHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, isHarmlessHeader(name) ? value : REDACTED]));
}

/**
 * The URL with its credentials masked: the userinfo password (or a lone user name, often a token) and the values of
 * credential-looking query and fragment parameters. Works on the text, so templates (`{{input.x}}`) survive.
 */
export function redactUrl(url: string): string {
  const parts = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is.exec(url);
  if (!parts) return url;
  const [, scheme = '', authority = '', path = '', query = '', fragment = ''] = parts;
  const at = authority.lastIndexOf('@');
  let shownAuthority = authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    shownAuthority = `${colon >= 0 ? `${userinfo.slice(0, colon)}:${REDACTED}` : REDACTED}@${authority.slice(at + 1)}`;
  }
  return `${scheme}${shownAuthority}${path}${redactParams(query)}${redactParams(fragment)}`;
}

/** `?a=1&token=x` (or `#…`) with credential-looking parameter values masked. */
function redactParams(part: string): string {
  if (part.length < 2) return part;
  const params = part
    .slice(1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      if (eq < 0) return param;
      const name = param.slice(0, eq);
      return SECRET_PARAM.test(decodeName(name)) ? `${name}=${REDACTED}` : param;
    });
  return `${part[0]}${params.join('&')}`;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

/**
 * A JSON value as the API and run events show it: values of secret-named keys, header values but harmless ones (under
 * any `headers` key) and credentials in URL strings replaced by `[redacted]`, at any depth. Numbers, booleans and
 * nulls stay (a `max_tokens` count is no credential, and a null secret tells the client none is set).
 */
export function redactSecrets(value: JsonValue): JsonValue {
  if (typeof value === 'string') return URL_LIKE.test(value) ? redactUrl(value) : value;
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactEntry(key, item)]));
}

function redactEntry(key: string, item: JsonValue): JsonValue {
  if (SECRET_KEY.test(key) && isMaskable(item)) return REDACTED;
  return HEADERS_KEY.test(key) ? redactHeaderSet(item) : redactSecrets(item);
}

// Headers as an object (`{"X-Auth": "…"}`) or a list of such objects.
function redactHeaderSet(headers: JsonValue): JsonValue {
  if (Array.isArray(headers)) return headers.map(redactHeaderSet);
  if (headers === null || typeof headers !== 'object') return redactSecrets(headers);
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, isHarmlessHeader(name) || !isMaskable(value) ? redactSecrets(value) : REDACTED]),
  );
}

function isMaskable(value: JsonValue): boolean {
  return value !== null && typeof value !== 'number' && typeof value !== 'boolean';
}

/** A stored secret left out of a new config because its destination changed. */
export interface DroppedSecret {
  /** Where the secret was, e.g. `['steps', 1, 'input', 'headers', 'X-Auth']`. */
  path: Array<string | number>;
  /** The destination field that changed, e.g. `['steps', 1, 'input', 'url']`. */
  destination: Array<string | number>;
}

/** A new config with its placeholders resolved, and the secrets that were not carried over. */
export interface RestoredSecrets {
  value: JsonValue;
  dropped: DroppedSecret[];
}

const DROP = Symbol('drop');
type Restored = JsonValue | typeof DROP;

/**
 * Resolves a new config sent with the placeholders it was shown: wherever a value reads exactly as the stored value
 * was shown (`[redacted]`, or a URL with masked credentials), the stored value is kept, so a client can send back
 * what it read. Except where a destination changed (a `url`, `base_url`, `host`, `tool`… in the same object or an
 * enclosing one, e.g. the secret header's own tool step): a write-only secret must not follow a config to a server the
 * writer chose without knowing it, so it is left out and listed in `dropped`, and must be supplied again.
 */
export function restoreSecrets(next: JsonValue, stored: JsonValue | undefined): RestoredSecrets {
  const dropped: DroppedSecret[] = [];
  const value = restore(next, stored, stored === undefined ? undefined : redactSecrets(stored), [], undefined, dropped);
  return { value: value === DROP ? null : value, dropped };
}

function restore(
  next: JsonValue,
  stored: JsonValue | undefined,
  shown: JsonValue | undefined,
  path: Array<string | number>,
  moved: Array<string | number> | undefined,
  dropped: DroppedSecret[],
): Restored {
  if (typeof next === 'string') {
    // Only a value the client read as masked is resolved; a placeholder anywhere else stays the text it is.
    const sentBackMasked = next.includes(REDACTED) && next === shown && !isDeepStrictEqual(stored, shown);
    if (!sentBackMasked || stored === undefined) return next;
    if (moved === undefined) return stored;
    dropped.push({ path, destination: moved });
    return DROP;
  }
  if (Array.isArray(next)) {
    return next
      .map((item, index) => restore(item, elementOf(stored, index), elementOf(shown, index), [...path, index], moved, dropped))
      .filter((item): item is JsonValue => item !== DROP);
  }
  if (next === null || typeof next !== 'object') return next;
  const storedObject = objectOf(stored);
  const shownObject = objectOf(shown);
  const destination = moved ?? changedDestination(next, shownObject, path);
  const entries: Array<[string, JsonValue]> = [];
  for (const [key, item] of Object.entries(next)) {
    const restored = restore(item, storedObject?.[key], shownObject?.[key], [...path, key], destination, dropped);
    if (restored !== DROP) entries.push([key, restored]);
  }
  return Object.fromEntries(entries);
}

/** The path of the first destination field whose new value differs from what the client was shown, if any. */
function changedDestination(next: Record<string, JsonValue>, shown: Record<string, JsonValue> | undefined, path: Array<string | number>): Array<string | number> | undefined {
  const keys = new Set([...Object.keys(next), ...Object.keys(shown ?? {})]);
  for (const key of keys) {
    if (DESTINATION_KEY.test(key) && !isDeepStrictEqual(next[key], shown?.[key])) return [...path, key];
  }
  return undefined;
}

function objectOf(value: JsonValue | undefined): Record<string, JsonValue> | undefined {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function elementOf(value: JsonValue | undefined, index: number): JsonValue | undefined {
  return Array.isArray(value) ? value[index] : undefined;
}
