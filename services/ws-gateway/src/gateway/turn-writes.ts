/** The part of a `net.Socket` that holds writes back. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

const corked = new WeakSet<Corkable>();

/**
 * Holds back what is written to `socket` until the current synchronous work is done (`process.nextTick`), then
 * hands it all to the kernel at once: a socket that is sent several frames in one go (a resumed subscription's
 * replay, several live events of one dispatch batch, streamed tokens) costs one `writev` instead of one syscall per
 * frame. (It does not make a reconnect storm cheaper: there each socket gets about one frame per turn.) Idempotent
 * within a tick; the bytes, their order and the
 * frames are unchanged, and corked bytes still count in the socket's `writableLength` (so in `bufferedAmount`).
 */
export function coalesceWritesThisTick(socket: Corkable): void {
  if (corked.has(socket)) return;
  corked.add(socket);
  socket.cork();
  process.nextTick(() => {
    corked.delete(socket);
    // On a destroyed socket this does nothing; `end()` already uncorks by itself.
    socket.uncork();
  });
}

/** The `net.Socket` under a `ws` WebSocket (`_socket`, which its typings leave out); undefined before it has one. */
export function netSocketOf(ws: object): Corkable | undefined {
  const socket: unknown = Reflect.get(ws, '_socket');
  if (typeof socket !== 'object' || socket === null) return undefined;
  const cork: unknown = Reflect.get(socket, 'cork');
  const uncork: unknown = Reflect.get(socket, 'uncork');
  return typeof cork === 'function' && typeof uncork === 'function' ? (socket as Corkable) : undefined;
}
