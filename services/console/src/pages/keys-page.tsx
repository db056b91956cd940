import { useState } from 'react';
import type { ReactElement } from 'react';

import { Table, onSubmit } from '../components';
import { useConsole } from '../console-context';
import { useLoad } from '../use-load';

const ROLES = ['viewer', 'operator', 'admin'] as const;
type KeyRole = (typeof ROLES)[number];

/** The tenant's API keys (admins only): create one (shown once), revoke one. */
export function KeysPage(): ReactElement {
  const { isAdmin } = useConsole();
  return (
    <>
      <h1>API keys</h1>
      {isAdmin ? <KeysAdmin /> : <p>Only admins manage API keys.</p>}
    </>
  );
}

function KeysAdmin(): ReactElement {
  const { client, act } = useConsole();
  const [keys, reload] = useLoad('Loading keys', (signal) => client.apiKeys.list({ signal }));
  const [name, setName] = useState('');
  const [role, setRole] = useState<KeyRole>('viewer');
  const [created, setCreated] = useState<string>();

  const create = async () => {
    const answer = await act('Creating key', () => client.apiKeys.create({ name, role }));
    if (!answer) return;
    setCreated(answer.key);
    setName('');
    await reload();
  };
  const revoke = async (id: string) => {
    if ((await act('Revoking key', () => client.apiKeys.revoke(id).then(() => true))) === true) await reload();
  };

  return (
    <>
      <p id="new-key" role="status">
        {created ? `New key (shown once, copy it now): ${created}` : ''}
      </p>
      <form aria-label="Create API key" onSubmit={onSubmit(create)}>
        <label htmlFor="key-name">
          Name
          <input id="key-name" name="name" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label htmlFor="key-role">
          Role
          <select id="key-role" name="role" value={role} onChange={(e) => setRole(e.target.value as KeyRole)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Create key</button>
      </form>
      {keys && (
        <Table head={['Name', 'Prefix', 'Role', 'Revoked', '']} label="API keys">
          {keys.items.map((key) => (
            <tr key={key.id}>
              <td>{key.name}</td>
              <td>{key.prefix}</td>
              <td>{key.role}</td>
              <td>{key.revoked_at ?? ''}</td>
              <td>
                {!key.revoked_at && (
                  <button type="button" className="secondary" onClick={() => void revoke(key.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}
