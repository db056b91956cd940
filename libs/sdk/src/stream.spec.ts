import type { RunEventV1 } from './contracts';

import { SkreaverClient } from './client';
import type { SocketIoFactory } from './stream';
import type { FetchLike } from './transport';

const RUN = '00000000-0000-4000-8000-000000000001';
const event = (seq: number, type = 'run.step'): RunEventV1 =>
  ({ id: `${RUN}:${seq}`, run_id: RUN, seq, type, data: type === 'run.failed' ? { final: false } : {} }) as unknown as RunEventV1;
const sse = (...events: RunEventV1[]) => events.map((one) => `id: ${one.id}\nevent: ${one.type}\ndata: ${JSON.stringify(one)}\n\n`).join('');

/** A body that sends `text` and then fails, as a cut connection does. */
function cutBody(text: string): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) return controller.error(new TypeError('terminated'));
      sent = true;
      controller.enqueue(new TextEncoder().encode(text));
    },
  });
}

function scripted(...bodies: Array<string | ReadableStream<Uint8Array>>) {
  const requests: Array<{ url: string; method: string; headers: Record<string, string> }> = [];
  const fetch: FetchLike = async (url, init) => {
    requests.push({ url, method: String(init.method), headers: { ...(init.headers as Record<string, string>) } });
    const body = bodies.shift();
    if (body === undefined) throw new TypeError('fetch failed');
    return new Response(body, { headers: { 'content-type': 'text/event-stream', 'x-run-id': RUN } });
  };
  return { fetch, requests, client: new SkreaverClient({ baseUrl: 'http://api.test', token: 't', fetch, retry: { retries: 0 } }) };
}

const collect = async (stream: AsyncIterable<RunEventV1>) => {
  const seen: number[] = [];
  for await (const one of stream) seen.push(one.seq);
  return seen;
};

describe('RunEventStream', () => {
  it('should resume a cut stream with Last-Event-ID, skip what it already yielded, and end at the terminal event', async () => {
    const { client, requests } = scripted(
      cutBody(sse(event(1), event(2)) + 'id: x\ndata: {"par'),
      // The server replays from an older event (a replay overlap): the duplicates are skipped.
      sse(event(2), event(3), event(4, 'run.failed')),
      sse(event(5), event(6, 'run.completed'), event(7)),
    );
    const stream = client.runs.stream(RUN);
    expect(await collect(stream)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(requests.map((request) => request.headers['last-event-id'])).toEqual([undefined, `${RUN}:2`, `${RUN}:4`]);
    expect(requests.every((request) => request.method === 'GET' && request.url === `http://api.test/runs/${RUN}/events`)).toBe(true);
    expect(requests[0]?.headers['accept']).toBe('text/event-stream');
    expect(stream).toMatchObject({ reconnects: 2, lastEventId: `${RUN}:6` });
  });

  it('should start after `after`', async () => {
    const { client, requests } = scripted(sse(event(3), event(4, 'run.cancelled')));
    expect(await collect(client.runs.stream(RUN, { after: `${RUN}:2` }))).toEqual([3, 4]);
    expect(requests[0]?.headers['last-event-id']).toBe(`${RUN}:2`);
  });

  it('should give up with stream_ended after maxReconnects attempts that brought nothing', async () => {
    const { client, requests } = scripted(sse(event(1)), '', '');
    await expect(collect(client.runs.stream(RUN, { maxReconnects: 2 }))).rejects.toMatchObject({ code: 'stream_ended' });
    expect(requests).toHaveLength(3);
  });

  it('should open a run with POST ?stream=true and resume it by GET with the run id from X-Run-Id', async () => {
    const { client, requests } = scripted(cutBody(sse(event(1))), sse(event(2, 'run.completed')));
    const stream = client.runs.create('agent-1', 'hi', { stream: true, idempotencyKey: 'k' });
    expect(await collect(stream)).toEqual([1, 2]);
    expect(requests.map((request) => `${request.method} ${request.url}`)).toEqual(['POST http://api.test/agents/agent-1/runs?stream=true', `GET http://api.test/runs/${RUN}/events`]);
    expect(requests[0]?.headers).toMatchObject({ 'idempotency-key': 'k', accept: 'text/event-stream' });
    expect(stream.runId).toBe(RUN);
  });

  it('should report connecting, live, reconnecting, live', async () => {
    const { client } = scripted(cutBody(sse(event(1))), sse(event(2, 'run.completed')));
    const states: string[] = [];
    await collect(client.runs.stream(RUN, { onState: (state) => states.push(state) }));
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
  });
});

describe('RunEventStream abort', () => {
  it('should stop right after the event during which the signal aborted, even with more in the same chunk', async () => {
    const { client } = scripted(sse(event(1), event(2), event(3), event(4, 'run.completed')));
    const controller = new AbortController();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const one of client.runs.stream(RUN, { signal: controller.signal })) {
        seen.push(one.seq);
        if (one.seq === 2) controller.abort(new Error('enough'));
      }
    })();
    await expect(reading).rejects.toThrow('enough');
    expect(seen).toEqual([1, 2]);
  });
});

/** A scripted socket.io: each connection plays the next script (what the gateway does once subscribed). */
type Script = (socket: { emit: (name: string, ...args: unknown[]) => void; payload: Record<string, string> }) => void;
function fakeIo(...scripts: Script[]) {
  const subscriptions: Array<Record<string, string>> = [];
  const io: SocketIoFactory = () => {
    const listeners = new Map<string, (...args: never[]) => void>();
    const emit = (name: string, ...args: unknown[]) => (listeners.get(name) as ((...a: unknown[]) => void) | undefined)?.(...args);
    const script = scripts.shift();
    setTimeout(() => (script ? emit('connect') : emit('connect_error', new Error('refused'))), 1);
    return {
      on: (name, listener) => listeners.set(name, listener),
      emit: (name, payload, ack) => {
        if (name !== 'subscribe') return;
        subscriptions.push(payload as Record<string, string>);
        script?.({ emit, payload: payload as Record<string, string> });
        (ack as (answer: unknown) => void)({ ok: true, room: 'r' });
      },
      disconnect: () => undefined,
    };
  };
  return { io, subscriptions };
}

describe('RunEventStream over socket.io', () => {
  const runAnswer = () => new Response(JSON.stringify({ id: RUN, status: 'running' }), { headers: { 'content-type': 'application/json' } });

  function client(io: SocketIoFactory, ...sseBodies: string[]) {
    const requests: string[] = [];
    const fetch: FetchLike = async (url, init) => {
      requests.push(`${init.method} ${url} ${(init.headers as Record<string, string>)['last-event-id'] ?? ''}`.trim());
      if (url.endsWith(`/runs/${RUN}`)) return runAnswer();
      const body = sseBodies.shift();
      if (body === undefined) throw new TypeError('fetch failed');
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    };
    return { requests, sdk: new SkreaverClient({ baseUrl: 'http://api.test', gatewayUrl: 'http://gw.test', token: 't', fetch, io, retry: { retries: 0 } }) };
  }

  it('should subscribe to the run from its start, resume after the last event on a new connection, skip duplicates, end at the terminal event', async () => {
    const { io, subscriptions } = fakeIo(
      ({ emit }) => {
        emit('event', event(1));
        emit('event', event(2));
        emit('disconnect');
      },
      ({ emit }) => {
        // A replay overlapping what was already yielded: skipped.
        emit('event', event(2));
        emit('event', event(3, 'run.completed'));
      },
    );
    const { sdk, requests } = client(io);
    const states: string[] = [];
    const stream = sdk.runs.stream(RUN, { onState: (state) => states.push(state) });
    expect(await collect(stream)).toEqual([1, 2, 3]);
    expect(subscriptions).toEqual([{ run_id: RUN, after: `${RUN}:0` }, { run_id: RUN, after: `${RUN}:2` }]);
    expect(requests).toEqual([`GET http://api.test/runs/${RUN}`]);
    expect(states).toEqual(['connecting', 'live', 'reconnecting', 'live']);
    expect(stream).toMatchObject({ via: 'socket.io', reconnects: 1, lastEventId: `${RUN}:3` });
  });

  it('should go on over SSE, after the last event, when the gateway cannot be reached twice in a row', async () => {
    const { io } = fakeIo(({ emit }) => {
      emit('event', event(1));
      emit('disconnect');
    });
    const { sdk, requests } = client(io, sse(event(2), event(3, 'run.completed')));
    const stream = sdk.runs.stream(RUN);
    expect(await collect(stream)).toEqual([1, 2, 3]);
    expect(requests).toEqual([`GET http://api.test/runs/${RUN}`, `GET http://api.test/runs/${RUN}/events ${RUN}:1`]);
    expect(stream.via).toBe('sse');
  });

  it('should go on over SSE when the gateway refuses the subscription', async () => {
    const refusing: SocketIoFactory = () => {
      const listeners = new Map<string, (...args: never[]) => void>();
      setTimeout(() => (listeners.get('connect') as () => void)(), 1);
      return {
        on: (name, listener) => listeners.set(name, listener),
        emit: (_name, _payload, ack) => (ack as (answer: unknown) => void)({ ok: false, error: { code: 'replay_unavailable', message: 'gone' } }),
        disconnect: () => undefined,
      };
    };
    const { sdk } = client(refusing, sse(event(1), event(2, 'run.completed')));
    const stream = sdk.runs.stream(RUN);
    expect(await collect(stream)).toEqual([1, 2]);
    expect(stream.via).toBe('sse');
  });

  it('should reject with not_found, and open no connection, for a run that does not exist', async () => {
    const { io, subscriptions } = fakeIo();
    const fetch: FetchLike = async () => new Response(JSON.stringify({ error: 'not_found', message: 'no such run', request_id: 'r1' }), { status: 404, headers: { 'content-type': 'application/json' } });
    const sdk = new SkreaverClient({ baseUrl: 'http://api.test', gatewayUrl: 'http://gw.test', token: 't', fetch, io, retry: { retries: 0 } });
    await expect(collect(sdk.runs.stream(RUN))).rejects.toMatchObject({ status: 404, code: 'not_found' });
    expect(subscriptions).toEqual([]);
  });
});
