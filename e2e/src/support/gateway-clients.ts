import { AGENTS_NAMESPACE, AckV1, WS_PATH, WsServerFrameV1 } from '@skreaver/contracts';
import type { MeshEnvelopeV1, RunEventV1 } from '@skreaver/contracts';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { WebSocket } from 'ws';

/** A live-event client of one gateway replica, socket.io or plain WebSocket, with the events it received. */
export interface LiveClient {
  readonly events: RunEventV1[];
  /** Mesh messages of subscribed topics. */
  readonly meshMessages: MeshEnvelopeV1[];
  /** Resolves when the connection ends, whoever ends it. */
  readonly gone: Promise<void>;
  subscribe(payload: Record<string, unknown>): Promise<AckV1>;
  close(): void;
}

/** Connects to `/agents` with `auth.token`; rejects with the `connect_error`. */
export async function socketIoClient(gatewayUrl: string, token: string | undefined): Promise<LiveClient> {
  const socket: Socket = io(`${gatewayUrl}${AGENTS_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
  });
  const events: RunEventV1[] = [];
  const meshMessages: MeshEnvelopeV1[] = [];
  socket.on('event', (event: RunEventV1) => events.push(event));
  socket.on('mesh', (message: MeshEnvelopeV1) => meshMessages.push(message));
  const gone = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
  return {
    events,
    meshMessages,
    gone,
    subscribe: async (payload) => AckV1.parse(await socket.timeout(15_000).emitWithAck('subscribe', payload)),
    close: () => socket.close(),
  };
}

/** Opens `/ws?token=…` as `websocat` would; rejects when the gateway closes it before answering. */
export async function plainWsClient(gatewayUrl: string, token: string): Promise<LiveClient & { closeCode: Promise<number> }> {
  const ws = new WebSocket(`${gatewayUrl.replace(/^http/, 'ws')}${WS_PATH}?token=${encodeURIComponent(token)}`);
  const events: RunEventV1[] = [];
  const meshMessages: MeshEnvelopeV1[] = [];
  const acks = new Map<string, (ack: AckV1) => void>();
  ws.on('message', (data: Buffer) => {
    const frame = WsServerFrameV1.parse(JSON.parse(data.toString('utf8')));
    if (frame.type === 'event') events.push(frame.event);
    else if (frame.type === 'mesh') meshMessages.push(frame.message);
    else if (frame.type === 'ack' && typeof frame.id === 'string') acks.get(frame.id)?.(frame);
  });
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let requests = 0;
  return {
    events,
    meshMessages,
    gone: closeCode.then(() => undefined),
    closeCode,
    subscribe: (payload) =>
      new Promise<AckV1>((resolve, reject) => {
        const id = `s${++requests}`;
        const timer = setTimeout(() => reject(new Error(`no ack for ${id}`)), 15_000);
        acks.set(id, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        ws.send(JSON.stringify({ type: 'subscribe', id, ...payload }));
      }),
    close: () => ws.close(),
  };
}
