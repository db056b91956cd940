import { useEffect, useState } from 'react';

/** A console route: the page and its id parameter, from the `#/…` fragment (ids only: no secret is ever in a URL). */
export type Route =
  | { page: 'agents' }
  | { page: 'agent'; id: string }
  | { page: 'run'; id: string }
  | { page: 'threads' }
  | { page: 'thread'; id: string }
  | { page: 'memory' }
  | { page: 'mesh' }
  | { page: 'keys' };

const ID = '([\\w-]+)';
const PATTERNS: Array<[RegExp, (id: string) => Route]> = [
  [/^#\/agents$/, () => ({ page: 'agents' })],
  [new RegExp(`^#/agents/${ID}$`), (id) => ({ page: 'agent', id })],
  [new RegExp(`^#/runs/${ID}$`), (id) => ({ page: 'run', id })],
  [/^#\/threads$/, () => ({ page: 'threads' })],
  [new RegExp(`^#/threads/${ID}$`), (id) => ({ page: 'thread', id })],
  [/^#\/memory$/, () => ({ page: 'memory' })],
  [/^#\/mesh$/, () => ({ page: 'mesh' })],
  [/^#\/keys$/, () => ({ page: 'keys' })],
];

/** The route of a fragment; the agents list for anything else. */
export function parseRoute(hash: string): Route {
  for (const [pattern, route] of PATTERNS) {
    const match = pattern.exec(hash);
    if (match) return route(match[1] ?? '');
  }
  return { page: 'agents' };
}

/** The current `location.hash`, kept up to date. */
export function useHash(): string {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

export function navigate(hash: string): void {
  location.hash = hash;
}
