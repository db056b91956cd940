// Baseline of the gateway scenario: a bare socket.io server (namespace /agents, websocket transport, no auth) that
// broadcasts event-shaped payloads to every connected client when the bench asks over IPC. Run as a child process.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

import { Server } from 'socket.io';

import { wallMs } from '../support/stats';
import type { RawCommand } from './raw-protocol';

const server = createServer();
const io = new Server(server, { perMessageDeflate: false, transports: ['websocket'] });
const agents = io.of('/agents');
const runId = randomUUID();
const agentId = randomUUID();
let seq = 0;

/** The same shape and size as a gateway `event`: a run.output event whose output carries the send time. */
function nextEvent(): Record<string, unknown> {
  seq += 1;
  return {
    id: `${runId}:${seq}`,
    run_id: runId,
    agent_id: agentId,
    tenant_id: 'default',
    seq,
    ts: new Date().toISOString(),
    type: 'run.output',
    data: { attempt: 1, index: seq, output: { t: wallMs() } },
  };
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

async function burst(count: number, batch: number): Promise<void> {
  // In batches with a turn of the event loop in between, as the gateway receives them from its stream reads.
  for (let sent = 0; sent < count; ) {
    for (let i = 0; i < batch && sent < count; i += 1, sent += 1) agents.emit('event', nextEvent());
    await immediate();
  }
}

async function atRate(rate: number, durationMs: number): Promise<void> {
  const total = Math.floor((rate * durationMs) / 1000);
  const started = performance.now();
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    while (sent < due) {
      agents.emit('event', nextEvent());
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + (sent * 1000) / rate - performance.now())));
  }
}

process.on('message', (message: RawCommand) => {
  const done = () => process.send?.({ done: message.cmd });
  if (message.cmd === 'burst') void burst(message.count, message.batch).then(done);
  else if (message.cmd === 'rate') void atRate(message.rate, message.durationMs).then(done);
  else if (message.cmd === 'clients') process.send?.({ done: 'clients', count: agents.sockets.size });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ ready: true, port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('SIGTERM', () => {
  io.close();
  process.exit(0);
});
