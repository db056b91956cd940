import type { ReactElement } from 'react';

import { Table } from '../components';
import { useConsole } from '../console-context';
import { useLoad } from '../use-load';

/** The mesh: who is live (coordinators and agents, their load) and the dead letters, with redrive and delete. */
export function MeshPage(): ReactElement {
  const { client, act, canWrite } = useConsole();
  const [presence] = useLoad('Loading presence', (signal) => client.mesh.presence({ signal }));
  const [letters, reload] = useLoad('Loading dead letters', (signal) => client.mesh.deadLetters({ limit: 100, signal }));

  const redrive = async (id: string) => {
    if ((await act('Redriving', () => client.mesh.redriveDeadLetter(id).then(() => true))) === true) await reload();
  };
  const remove = async (id: string) => {
    if ((await act('Deleting', () => client.mesh.removeDeadLetter(id).then(() => true))) === true) await reload();
  };

  return (
    <>
      <h1>Mesh</h1>
      <h2>Presence</h2>
      {presence && (
        <Table head={['Kind', 'Id', 'Load', 'Last seen']} label="Presence">
          {presence.items.map((entry) => (
            <tr key={`${entry.kind}:${entry.id}`}>
              <td>{entry.kind}</td>
              <td>{entry.id}</td>
              <td>{entry.load}</td>
              <td>{entry.last_seen}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>Dead letters</h2>
      {letters && (
        <Table head={['Id', 'Reason', 'Deliveries', '']} label="Dead letters">
          {letters.items.map((letter) => (
            <tr key={letter.id}>
              <td>{letter.id}</td>
              <td>
                {letter.reason}: {letter.detail}
              </td>
              <td>{letter.deliveries}</td>
              <td>
                {canWrite && (
                  <div className="row">
                    <button type="button" onClick={() => void redrive(letter.id)}>
                      Redrive
                    </button>
                    <button type="button" className="secondary" onClick={() => void remove(letter.id)}>
                      Delete
                    </button>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}
