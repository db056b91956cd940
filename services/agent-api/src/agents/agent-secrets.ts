import type { Agent, JsonValue } from '@skreaver/contracts';

/** What the API shows instead of a secret in an agent's config. */
export const REDACTED = '[redacted]';

// Config keys that hold credentials (a webhook's signing secret, an llm api_key, …): write-only through the API.
const SECRET_KEY = /secret|passw(or)?d|api[-_]?key|token|authorization|private[-_]?key/i;

function redactValue(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, SECRET_KEY.test(key) && item !== null ? REDACTED : redactValue(item)]),
  );
}

/** The agent as the API shows it: every secret-named config value replaced by `[redacted]`, at any depth. */
export function redactAgent(agent: Agent): Agent {
  return { ...agent, config: redactValue(agent.config) as Agent['config'] };
}

/**
 * A new config where every secret still reading `[redacted]` takes the stored value at the same path, so a client
 * can send back the config it read (with its placeholders) without wiping the secrets.
 */
export function restoreSecrets(next: JsonValue, stored: JsonValue | undefined): JsonValue {
  if (next === REDACTED) return stored === undefined ? next : stored;
  if (Array.isArray(next)) return next.map((item, index) => restoreSecrets(item, Array.isArray(stored) ? stored[index] : undefined));
  if (next === null || typeof next !== 'object') return next;
  const storedObject = stored !== null && typeof stored === 'object' && !Array.isArray(stored) ? stored : {};
  return Object.fromEntries(Object.entries(next).map(([key, item]) => [key, restoreSecrets(item, storedObject[key])]));
}
