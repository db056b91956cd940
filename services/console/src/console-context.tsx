import { SkreaverError } from '@skreaver/sdk';
import type { SkreaverClient } from '@skreaver/sdk';
import { createContext, useContext } from 'react';

import type { Claims } from './session';

/** What every page gets: the SDK client, the role, and `act` (an action with its outcome in the status line). */
export interface ConsoleApi {
  client: SkreaverClient;
  claims: Claims;
  canWrite: boolean;
  isAdmin: boolean;
  /** Runs `action`, saying what happens in the status line; undefined when it failed (the line says why). */
  act<T>(what: string, action: () => Promise<T>): Promise<T | undefined>;
}

export const ConsoleContext = createContext<ConsoleApi | null>(null);

/** The signed-in console (pages render only inside a session). */
export function useConsole(): ConsoleApi {
  const api = useContext(ConsoleContext);
  if (!api) throw new Error('useConsole outside a session');
  return api;
}

/** A line for the status bar: the API's error code, message and request id when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof SkreaverError) return `${error.code}: ${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

export function isAbortError(error: unknown): boolean {
  return error instanceof DOMException ? error.name === 'AbortError' : error instanceof Error && error.name === 'AbortError';
}

/** `text` parsed as JSON, or an error naming `what`. */
export function parseJson<T = unknown>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
}

export const pretty = (value: unknown): string => JSON.stringify(value, null, 2);

/** A fresh idempotency key for a write the SDK may retry. */
export const newIdempotencyKey = (): string => crypto.randomUUID();
