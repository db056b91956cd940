import { AGENTS_NAMESPACE } from '@skreaver/contracts';
import type { RunEventV1 } from '@skreaver/contracts';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';

import { withTimeout } from './time';

/** A socket.io client of a gateway's `/agents` namespace (websocket transport, no reconnection). */
export async function connectLive(url: string, token: string | undefined, onEvent?: (event: RunEventV1) => void, namespace = AGENTS_NAMESPACE): Promise<Socket> {
  const socket = io(`${url}${namespace}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
  });
  if (onEvent) socket.on('event', onEvent);
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', (error) => {
        socket.close();
        reject(error);
      });
    }),
    15_000,
    'socket.io connect',
  );
  return socket;
}

/** `subscribe` with an ack; throws unless the gateway answered ok. */
export async function subscribe(socket: Socket, payload: Record<string, unknown>): Promise<void> {
  const ack = (await socket.timeout(15_000).emitWithAck('subscribe', payload)) as { ok?: boolean; error?: unknown };
  if (!ack.ok) throw new Error(`subscribe ${JSON.stringify(payload)} refused: ${JSON.stringify(ack)}`);
}

/** Connects `count` clients, `parallel` at a time. */
export async function connectMany(count: number, parallel: number, connect: () => Promise<Socket>): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += parallel) {
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(parallel, count - i) }, connect))));
  }
  return sockets;
}
