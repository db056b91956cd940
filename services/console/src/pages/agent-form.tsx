import type { Agent } from '@skreaver/contracts';
import type { CreateAgentRequest, UpdateAgentRequest } from '@skreaver/sdk';
import { useState } from 'react';
import type { ReactElement } from 'react';

import { onSubmit } from '../components';
import { parseJson, pretty } from '../console-context';

export const KINDS = ['echo', 'tool', 'llm', 'webhook'];
const POLICIES = ['enqueue', 'reject', 'interrupt', 'parallel'] as const;
type Policy = (typeof POLICIES)[number];

/**
 * An agent as a form (name, kind, concurrency, config as JSON) and as the whole request in JSON. Without `agent` it
 * creates one; with it, it edits that agent (the kind cannot change). `onSave` gets the request to build inside its
 * action, so a JSON mistake shows in the status line like any failure.
 */
export function AgentForm({ agent, onSave }: { agent?: Agent; onSave: (build: () => CreateAgentRequest | UpdateAgentRequest) => Promise<unknown> }): ReactElement {
  const prefix = agent ? 'edit' : 'agent';
  const [name, setName] = useState(agent?.name ?? '');
  const [kind, setKind] = useState(agent?.kind ?? 'echo');
  const [policy, setPolicy] = useState<Policy>(agent?.concurrency.policy ?? 'enqueue');
  const [max, setMax] = useState(String(agent?.concurrency.max_concurrency ?? 1));
  const [config, setConfig] = useState(pretty(agent?.config ?? {}));
  const [raw, setRaw] = useState(() =>
    pretty(agent ? { name: agent.name, config: agent.config, concurrency: agent.concurrency } : { name: 'greeter', kind: 'echo', config: {} }),
  );
  const kinds = KINDS.includes(kind) ? KINDS : [...KINDS, kind];

  const fromForm = (): CreateAgentRequest | UpdateAgentRequest => {
    const concurrency = { policy, max_concurrency: Number(max) };
    const body = { name, config: parseJson<Record<string, never>>(config, 'Config'), concurrency };
    return agent ? body : { ...body, kind };
  };

  return (
    <section aria-labelledby={`${prefix}-title`}>
      <h2 id={`${prefix}-title`}>{agent ? 'Edit' : 'Create an agent'}</h2>
      <form aria-label={agent ? 'Edit agent' : 'Create agent'} onSubmit={onSubmit(() => onSave(fromForm))}>
        <label htmlFor={`${prefix}-name`}>
          Name
          <input id={`${prefix}-name`} name="name" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        {!agent && (
          <label htmlFor={`${prefix}-kind`}>
            Kind
            <select id={`${prefix}-kind`} name="kind" value={kind} onChange={(e) => setKind(e.target.value)}>
              {kinds.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
        )}
        <div className="row">
          <label htmlFor={`${prefix}-policy`}>
            Concurrency policy
            <select id={`${prefix}-policy`} name="policy" value={policy} onChange={(e) => setPolicy(e.target.value as Policy)}>
              {POLICIES.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label htmlFor={`${prefix}-max`}>
            Max concurrent runs
            <input id={`${prefix}-max`} name="max_concurrency" type="number" min={1} max={1000} step={1} required value={max} onChange={(e) => setMax(e.target.value)} />
          </label>
        </div>
        <label htmlFor={`${prefix}-config`}>
          Config (JSON)
          <textarea id={`${prefix}-config`} name="config" value={config} onChange={(e) => setConfig(e.target.value)} />
        </label>
        <button type="submit">{agent ? 'Save' : 'Create agent'}</button>
      </form>
      <form aria-label={agent ? 'Edit agent as JSON' : 'Create agent from JSON'} onSubmit={onSubmit(() => onSave(() => parseJson(raw, 'The request')))}>
        <label htmlFor={`${prefix}-raw`}>
          {agent ? 'Or the changes as JSON (name, config, concurrency)' : 'Or the whole request as JSON'}
          <textarea id={`${prefix}-raw`} name="raw" value={raw} onChange={(e) => setRaw(e.target.value)} />
        </label>
        <button type="submit">{agent ? 'Save JSON' : 'Create from JSON'}</button>
      </form>
    </section>
  );
}
