import type { Run } from '@skreaver/contracts';
import type { JsonValue } from '@skreaver/contracts';
import type { UpdateAgentRequest } from '@skreaver/sdk';
import { useState } from 'react';
import type { ReactElement } from 'react';

import { Json, Table, onSubmit } from '../components';
import { newIdempotencyKey, parseJson, useConsole } from '../console-context';
import { navigate } from '../router';
import { useLoad } from '../use-load';
import { AgentForm } from './agent-form';

/** Runs as a table linking to each run's page. */
export function RunTable({ runs }: { runs: Run[] }): ReactElement {
  return (
    <Table head={['Run', 'Status', 'Created']} label="Runs">
      {runs.map((run) => (
        <tr key={run.id}>
          <td>
            <a href={`#/runs/${run.id}`}>{run.id}</a>
          </td>
          <td>{run.status}</td>
          <td>{run.created_at}</td>
        </tr>
      ))}
    </Table>
  );
}

/** An agent, its runs, and (not for viewers) starting a run, editing and deleting it. */
export function AgentPage({ id }: { id: string }): ReactElement {
  const { client, act, canWrite } = useConsole();
  const [agent, reloadAgent] = useLoad('Loading agent', (signal) => client.agents.get(id, { signal }), [id]);
  const [runs] = useLoad('Loading runs', (signal) => client.runs.listByAgent(id, { limit: 50, signal }), [id]);
  const [input, setInput] = useState('{"message":"hello"}');

  if (!agent) return <h1>Agent</h1>;
  const start = async () => {
    const run = await act('Starting run', () => client.runs.create(id, parseJson<JsonValue>(input, 'Input'), { idempotencyKey: newIdempotencyKey() }));
    if (run) navigate(`#/runs/${run.id}`);
  };
  const remove = async () => {
    if (!window.confirm(`Delete agent ${agent.name}?`)) return;
    if ((await act('Deleting agent', () => client.agents.delete(id).then(() => true))) === true) navigate('#/agents');
  };
  return (
    <>
      <h1>Agent {agent.name}</h1>
      <p>
        <span className="badge">{agent.kind}</span> {agent.status} · {agent.id}
      </p>
      <Json value={agent} />
      {canWrite && (
        <>
          <section aria-labelledby="start-title">
            <h2 id="start-title">Start a run</h2>
            <form aria-label="Start a run" onSubmit={onSubmit(start)}>
              <label htmlFor="run-input">
                Input (JSON)
                <textarea id="run-input" name="input" value={input} onChange={(e) => setInput(e.target.value)} />
              </label>
              <button type="submit">Start run</button>
            </form>
          </section>
          <AgentForm
            key={agent.updated_at}
            agent={agent}
            onSave={async (build) => {
              if (await act('Saving agent', () => client.agents.update(id, build() as UpdateAgentRequest))) await reloadAgent();
            }}
          />
          <button type="button" className="secondary" onClick={() => void remove()}>
            Delete agent
          </button>
        </>
      )}
      <h2>Runs</h2>
      {runs && <RunTable runs={runs.items} />}
    </>
  );
}
