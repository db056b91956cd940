import type { CreateAgentRequest } from '@skreaver/sdk';
import { useState } from 'react';
import type { ReactElement } from 'react';

import { Table, onSubmit } from '../components';
import { useConsole } from '../console-context';
import { navigate } from '../router';
import { useLoad } from '../use-load';
import { AgentForm, KINDS } from './agent-form';

/** The agents, filtered by name, kind and status; a form to create one. */
export function AgentsPage(): ReactElement {
  const { client, act, canWrite } = useConsole();
  const [name, setName] = useState('');
  const [kind, setKind] = useState('');
  const [status, setStatus] = useState('');
  const [agents, reload] = useLoad('Loading agents', (signal) =>
    client.agents.list({ name: name || undefined, kind: kind || undefined, status: status || undefined, limit: 100, signal }),
  );

  return (
    <>
      <h1>Agents</h1>
      <form className="row" aria-label="Filter agents" onSubmit={onSubmit(reload)}>
        <label htmlFor="filter-name">
          Name
          <input id="filter-name" name="name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label htmlFor="filter-kind">
          Kind
          <select id="filter-kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value)}>
            <option value="">any</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor="filter-status">
          Status
          <select id="filter-status" name="status" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            {['idle', 'running', 'error'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <Table head={['Name', 'Kind', 'Status', 'Created']} label="Agents">
        {agents?.items.map((agent) => (
          <tr key={agent.id}>
            <td>
              <a href={`#/agents/${agent.id}`}>{agent.name}</a>
            </td>
            <td>{agent.kind}</td>
            <td>{agent.status}</td>
            <td>{agent.created_at}</td>
          </tr>
        ))}
      </Table>
      {canWrite && (
        <AgentForm
          onSave={async (build) => {
            const agent = await act('Creating agent', () => client.agents.create(build() as CreateAgentRequest));
            if (agent) navigate(`#/agents/${agent.id}`);
          }}
        />
      )}
    </>
  );
}
