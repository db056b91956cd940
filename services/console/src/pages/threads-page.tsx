import type { JsonValue } from '@skreaver/contracts';
import { useState } from 'react';
import type { ReactElement } from 'react';

import { Json, Table, onSubmit } from '../components';
import { newIdempotencyKey, parseJson, useConsole } from '../console-context';
import { navigate } from '../router';
import { useLoad } from '../use-load';

/** The tenant's threads. */
export function ThreadsPage(): ReactElement {
  const { client } = useConsole();
  const [threads] = useLoad('Loading threads', (signal) => client.threads.list({ limit: 100, signal }));
  return (
    <>
      <h1>Threads</h1>
      {threads && (
        <Table head={['Thread', 'Agent', 'Status', 'Messages']} label="Threads">
          {threads.items.map((thread) => (
            <tr key={thread.id}>
              <td>
                <a href={`#/threads/${thread.id}`}>{thread.id}</a>
              </td>
              <td>
                <a href={`#/agents/${thread.agent_id}`}>{thread.agent_id}</a>
              </td>
              <td>{thread.status}</td>
              <td>{thread.message_count}</td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}

/** A thread: its conversation (the latest checkpoint's messages), its state, and sending the next input. */
export function ThreadPage({ id }: { id: string }): ReactElement {
  const { client, act, canWrite } = useConsole();
  const [thread] = useLoad('Loading thread', (signal) => client.threads.get(id, { signal }), [id]);
  const [history] = useLoad('Loading conversation', (signal) => client.threads.history(id, { limit: 1, signal }), [id]);
  const [input, setInput] = useState('"hello"');
  const messages = history?.items[0]?.messages ?? [];

  const send = async () => {
    const run = await act('Sending', () => client.threads.run(id, parseJson<JsonValue>(input, 'Input'), { idempotencyKey: newIdempotencyKey() }));
    if (run) navigate(`#/runs/${run.id}`);
  };
  if (!thread) return <h1>Thread</h1>;
  return (
    <>
      <h1>Thread</h1>
      <p>
        {thread.status} · agent <a href={`#/agents/${thread.agent_id}`}>{thread.agent_id}</a> · {thread.turns} turns
      </p>
      <section aria-label="Conversation">
        {messages.map((message, index) => (
          <div key={index} className={`msg ${message.role}`}>
            <strong>{message.role}: </strong>
            {message.content ?? JSON.stringify(message.tool_calls ?? null)}
          </div>
        ))}
      </section>
      {canWrite && (
        <form aria-label="Send input" onSubmit={onSubmit(send)}>
          <label htmlFor="thread-input">
            Next input (JSON)
            <textarea id="thread-input" name="input" value={input} onChange={(e) => setInput(e.target.value)} />
          </label>
          <button type="submit">Send</button>
        </form>
      )}
      <h2>State</h2>
      <Json value={thread.state} />
    </>
  );
}
