import { SkreaverError } from '@skreaver/sdk';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ReactElement } from 'react';

import { ConsoleContext, describeError, isAbortError } from './console-context';
import type { ConsoleApi } from './console-context';
import { AgentPage } from './pages/agent-page';
import { AgentsPage } from './pages/agents-page';
import { KeysPage } from './pages/keys-page';
import { LoginPage } from './pages/login-page';
import { MemoryPage } from './pages/memory-page';
import { MeshPage } from './pages/mesh-page';
import { RunPage } from './pages/run-page';
import { ThreadPage, ThreadsPage } from './pages/threads-page';
import { navigate, parseRoute, useHash } from './router';
import type { Route } from './router';
import { forgetSession, logIn, restoreSession } from './session';
import type { ConsoleConfig, Session } from './session';

interface Status {
  text: string;
  error: boolean;
}

function page(route: Route): ReactElement {
  switch (route.page) {
    case 'agents':
      return <AgentsPage />;
    case 'agent':
      return <AgentPage id={route.id} />;
    case 'run':
      return <RunPage id={route.id} />;
    case 'threads':
      return <ThreadsPage />;
    case 'thread':
      return <ThreadPage id={route.id} />;
    case 'memory':
      return <MemoryPage />;
    case 'mesh':
      return <MeshPage />;
    case 'keys':
      return <KeysPage />;
  }
}

/** The console: the bar, the status line, and the page of the current `#/…` route (the login page without a session). */
export function App({ config }: { config: ConsoleConfig }): ReactElement {
  const [session, setSession] = useState<Session | null>(() => restoreSession(config));
  const [status, setStatus] = useState<Status>({ text: '', error: false });
  const hash = useHash();
  const route = parseRoute(hash);
  const main = useRef<HTMLElement>(null);

  const say = useCallback((text: string, error = false) => setStatus({ text, error }), []);

  const endSession = useCallback(
    (message: string, error: boolean) => {
      forgetSession();
      setSession(null);
      say(message, error);
    },
    [say],
  );

  const act = useCallback(
    async <T,>(what: string, action: () => Promise<T>): Promise<T | undefined> => {
      try {
        say(`${what}…`);
        const result = await action();
        say(`${what}: done`);
        return result;
      } catch (error) {
        if (isAbortError(error)) return undefined;
        // The token expired or was revoked: log in again.
        if (error instanceof SkreaverError && error.status === 401) endSession('Your session ended: log in again', true);
        else say(`${what} failed: ${describeError(error)}`, true);
        return undefined;
      }
    },
    [say, endSession],
  );

  const api = useMemo<ConsoleApi | null>(
    () =>
      session && {
        client: session.client,
        claims: session.claims,
        canWrite: session.claims.role !== 'viewer',
        isAdmin: session.claims.role === 'admin',
        act,
      },
    [session, act],
  );

  // A new page takes the keyboard focus to its content (screen readers announce the change of page).
  useEffect(() => {
    main.current?.focus({ preventScroll: true });
  }, [hash, session]);

  const onLogin = async (apiKey: string): Promise<void> => {
    const started = await act('Logging in', () => logIn(apiKey, config));
    if (!started) return;
    setSession(started);
    if (parseRoute(location.hash).page === 'agents') navigate('#/agents');
  };

  const onLogout = async (): Promise<void> => {
    const client = session?.client;
    endSession('Logged out', false);
    navigate('#/login');
    // Revoked, not only forgotten: the server refuses the token from now on.
    await client?.auth.revoke().catch(() => undefined);
  };

  return (
    <>
      <header className="bar">
        <a className="brand" href="#/agents">
          Skreaver
        </a>
        {api && (
          <nav aria-label="Main">
            <a href="#/agents" aria-current={route.page === 'agents' ? 'page' : undefined}>Agents</a>
            <a href="#/threads" aria-current={route.page === 'threads' ? 'page' : undefined}>Threads</a>
            <a href="#/memory" aria-current={route.page === 'memory' ? 'page' : undefined}>Memory</a>
            <a href="#/mesh" aria-current={route.page === 'mesh' ? 'page' : undefined}>Mesh</a>
            {api.isAdmin && <a href="#/keys" aria-current={route.page === 'keys' ? 'page' : undefined}>API keys</a>}
          </nav>
        )}
        <span id="who" className="who">
          {api ? `${api.claims.role} · ${api.claims.tenant ?? ''}` : ''}
        </span>
        {api && (
          <button id="logout" type="button" onClick={() => void onLogout()}>
            Log out
          </button>
        )}
      </header>
      <p id="status" role="status" aria-live="polite" className={status.error ? 'error' : undefined}>
        {status.text}
      </p>
      <main id="main" tabIndex={-1} ref={main}>
        {api ? (
          <ConsoleContext.Provider value={api}>
            <PageFrame key={hash}>{page(route)}</PageFrame>
          </ConsoleContext.Provider>
        ) : (
          <LoginPage onLogin={onLogin} />
        )}
      </main>
    </>
  );
}

/** One page, mounted afresh for each route (its requests are aborted when the route changes). */
function PageFrame({ children }: { children: ReactElement }): ReactElement {
  return children;
}
