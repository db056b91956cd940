import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';

import { WebSocket } from 'ws';

import type { EventFrame } from '../live/event-frame';
import { PlainWsTransport } from './plain-ws.transport';
import type { AgentsSocket } from './socket-io.transport';
import { SocketIoTransport } from './socket-io.transport';

/** A stand-in for a `net.Socket` that records each write it would hand to the kernel (one syscall each). */
function kernelSide(): { socket: Writable; syscalls: string[][] } {
  const syscalls: string[][] = [];
  const socket = new Writable({
    write(chunk: Buffer, _encoding, done) {
      syscalls.push([chunk.toString()]);
      done();
    },
    writev(chunks, done) {
      syscalls.push(chunks.map(({ chunk }) => String(chunk)));
      done();
    },
  });
  return { socket, syscalls };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('frames of one tick', () => {
  it('should leave a /ws socket in one write, in order, and the next tick in another', async () => {
    const { socket, syscalls } = kernelSide();
    // `ws` writes each frame to its net.Socket as it is sent.
    const ws = { readyState: WebSocket.OPEN, _socket: socket, send: (text: string) => socket.write(text) };
    const transport = new PlainWsTransport(ws as unknown as WebSocket);
    const frame = (n: number) => ({ wsText: `e${n}` }) as unknown as EventFrame;

    transport.sendEvent(frame(1));
    transport.sendEvent(frame(2));
    await Promise.resolve();
    transport.sendEvent(frame(3));
    await nextTurn();
    transport.sendEvent(frame(4));
    await nextTurn();

    expect(syscalls).toEqual([['e1', 'e2', 'e3'], ['e4']]);
    expect(socket.writableCorked).toBe(0);
  });

  it("should leave engine.io's flushed queue of a socket.io socket in one write", async () => {
    const { socket, syscalls } = kernelSide();
    const conn = Object.assign(new EventEmitter(), { transport: { socket: { _socket: socket } } });
    new SocketIoTransport({ conn } as unknown as AgentsSocket);

    // engine.io's flush: the queued packets, then one write per packet.
    conn.emit('flush', ['p1', 'p2']);
    socket.write('p1');
    socket.write('p2');
    await nextTurn();
    // A single packet is written as it comes.
    conn.emit('flush', ['p3']);
    socket.write('p3');
    await nextTurn();

    expect(syscalls).toEqual([['p1', 'p2'], ['p3']]);
  });
});
