import type { JsonValue } from '@skreaver/contracts';
import { useEffect, useState } from 'react';
import type { ReactElement } from 'react';

import { Table, onSubmit } from '../components';
import { parseJson, pretty, useConsole } from '../console-context';
import { useLoad } from '../use-load';

/** An agent's memory: its keys by prefix, a key's value; putting a value and deleting a key (not for viewers). */
export function MemoryPage(): ReactElement {
  const { client, act, canWrite } = useConsole();
  const [agents] = useLoad('Loading agents', (signal) => client.agents.list({ limit: 100, signal }));
  const [agentId, setAgentId] = useState('');
  const [prefix, setPrefix] = useState('');
  const [shown, setShown] = useState<string>();
  const [key, setKey] = useState('');
  const [data, setData] = useState('{}');
  const [entries, reload] = useLoad(
    'Loading memory',
    async (signal) => (agentId ? client.memory.list(agentId, { prefix: prefix || undefined, limit: 100, signal }) : { items: [], next_after: null }),
    [agentId],
  );

  // The first agent is chosen once the list arrives.
  useEffect(() => {
    if (!agentId && agents?.items[0]) setAgentId(agents.items[0].id);
  }, [agents, agentId]);

  const read = async (name: string) => {
    const entry = await act('Reading', () => client.memory.get(agentId, name));
    if (entry) setShown(pretty(entry.value));
  };
  const remove = async (name: string) => {
    if ((await act('Deleting', () => client.memory.delete(agentId, name).then(() => true))) === true) await reload();
  };
  const put = async () => {
    if (await act('Writing', () => client.memory.put(agentId, key, parseJson<JsonValue>(data, 'Value')))) await reload();
  };

  return (
    <>
      <h1>Memory</h1>
      <form className="row" aria-label="Browse memory" onSubmit={onSubmit(reload)}>
        <label htmlFor="memory-agent">
          Agent
          <select id="memory-agent" name="agent" value={agentId} onChange={(e) => setAgentId(e.target.value)}>
            {(agents?.items ?? []).map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor="memory-prefix">
          Key prefix
          <input id="memory-prefix" name="prefix" value={prefix} onChange={(e) => setPrefix(e.target.value)} />
        </label>
        <button type="submit">List</button>
      </form>
      <Table head={['Key', 'Bytes', '']} label="Memory keys">
        {entries?.items.map((entry) => (
          <tr key={entry.key}>
            <td>
              <button type="button" className="secondary" onClick={() => void read(entry.key)}>
                {entry.key}
              </button>
            </td>
            <td>{entry.size_bytes}</td>
            <td>
              {canWrite && (
                <button type="button" className="secondary" aria-label={`Delete ${entry.key}`} onClick={() => void remove(entry.key)}>
                  Delete
                </button>
              )}
            </td>
          </tr>
        ))}
      </Table>
      <pre id="memory-value" role="region" aria-label="Value" tabIndex={0}>
        {shown}
      </pre>
      {canWrite && (
        <section aria-labelledby="put-title">
          <h2 id="put-title">Put a value</h2>
          <form aria-label="Put a value" onSubmit={onSubmit(put)}>
            <label htmlFor="memory-key">
              Key
              <input id="memory-key" name="key" required value={key} onChange={(e) => setKey(e.target.value)} />
            </label>
            <label htmlFor="memory-data">
              Value (JSON)
              <textarea id="memory-data" name="value" value={data} onChange={(e) => setData(e.target.value)} />
            </label>
            <button type="submit">Put</button>
          </form>
        </section>
      )}
    </>
  );
}
