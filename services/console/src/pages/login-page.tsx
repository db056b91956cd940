import { useState } from 'react';
import type { ReactElement } from 'react';

import { onSubmit } from '../components';

/** Exchanges an API key for an access token; the field is cleared at once and the key kept nowhere. */
export function LoginPage({ onLogin }: { onLogin: (apiKey: string) => Promise<void> }): ReactElement {
  const [key, setKey] = useState('');
  return (
    <>
      <h1>Log in</h1>
      <p>Exchange an API key for an access token (kept in this tab only).</p>
      <form
        aria-label="Log in"
        onSubmit={onSubmit(() => {
          const value = key;
          setKey('');
          return onLogin(value);
        })}
      >
        <label htmlFor="api-key">
          API key
          <input id="api-key" name="api-key" type="password" autoComplete="off" required placeholder="sk_…" value={key} onChange={(event) => setKey(event.target.value)} />
        </label>
        <button type="submit">Log in</button>
      </form>
    </>
  );
}
