import type { ReactElement } from 'react';

import { Json } from '../components';
import { useConsole } from '../console-context';
import { useRunTimeline } from '../live/use-run-timeline';
import { navigate } from '../router';
import { ResumeForm } from '../schema-form/resume-form';
import { useLoad } from '../use-load';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** A run: its status, input, output and error, the live timeline of its events, and cancel / redrive / resume. */
export function RunPage({ id }: { id: string }): ReactElement {
  const { client, act, canWrite } = useConsole();
  const [run, reload] = useLoad('Loading run', (signal) => client.runs.get(id, { signal }), [id]);
  const { events, state } = useRunTimeline(client, run, () => void reload());

  const cancel = async () => {
    if (await act('Cancelling run', () => client.runs.cancel(id, { reason: 'cancelled from the console' }))) await reload();
  };
  const redrive = async () => {
    const redriven = await act('Redriving run', () => client.runs.redrive(id));
    if (redriven) navigate(`#/runs/${redriven.id}`);
  };

  return (
    <>
      <h1>Run</h1>
      {run && (
        <section aria-label="Run">
          <p>
            Status: <strong id="run-status">{run.status}</strong> · agent <a href={`#/agents/${run.agent_id}`}>{run.agent_id}</a>
            {run.thread_id && (
              <>
                {' '}
                · thread <a href={`#/threads/${run.thread_id}`}>{run.thread_id}</a>
              </>
            )}
          </p>
          <h2>Input</h2>
          <Json value={run.input} />
          {run.output !== null && (
            <>
              <h2>Output</h2>
              <Json id="run-output" value={run.output} />
            </>
          )}
          {run.error && (
            <>
              <h2>Error</h2>
              <Json id="run-error" className="error-text" value={run.error} />
            </>
          )}
        </section>
      )}
      {run && canWrite && (
        <div className="row">
          {!TERMINAL.has(run.status) && (
            <button type="button" onClick={() => void cancel()}>
              Cancel run
            </button>
          )}
          {(run.status === 'failed' || run.status === 'cancelled') && (
            <button type="button" onClick={() => void redrive()}>
              Redrive
            </button>
          )}
        </div>
      )}
      {run && canWrite && run.status === 'waiting_input' && run.pending_inputs.length > 0 && (
        <ResumeForm key={run.pending_inputs.map((input) => input.id).join()} run={run} onResumed={reload} />
      )}
      <h2>Timeline</h2>
      <p id="stream-state" role="status">
        {state === 'connecting' || state === 'reconnecting' ? `${state}…` : state === 'busy' ? 'gateway busy, retrying…' : state}
      </p>
      <ol id="timeline" className="timeline" aria-label="Timeline">
        {events.map((event) => (
          <li key={event.seq} data-type={event.type} data-seq={event.seq}>
            {event.seq} {event.type} {event.ts}
          </li>
        ))}
      </ol>
    </>
  );
}
