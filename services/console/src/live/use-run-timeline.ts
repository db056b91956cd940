import type { RunEventV1 } from '@skreaver/contracts';
import { SkreaverError } from '@skreaver/sdk';
import type { SkreaverClient, StreamState } from '@skreaver/sdk';
import { useEffect, useRef, useState } from 'react';

import { describeError } from '../console-context';
import { RunTimeline } from './run-timeline';

/** What the line above the timeline says: the gateway connection's state, `ended`, or why the stream stopped. */
export type TimelineState = StreamState | 'ended' | `stream stopped: ${string}`;

const PAGE = 500;
/**
 * A ws-gateway that never answered after this many failed connections, or this long (a connection that hangs), is
 * given up for agent-api's server-sent events. Once it has answered, the page waits for it to come back instead.
 */
const GATEWAY_ATTEMPTS = 3;
const GATEWAY_WAIT_MS = 10_000;

/**
 * A run's live timeline: its event log read over REST, then the events that follow, live from ws-gateway
 * (`agents.watch` over socket.io, filtered to the run). When the gateway connection drops, the SDK reconnects and
 * resumes after the last event received (the gateway replays what was missed); each time the subscription is live
 * again the log is read once more from the last event with none missing, so the page ends up with exactly the log:
 * nothing twice, nothing missing. A gateway that never answers (not routed to, unreachable) is given up after a few
 * attempts for agent-api's server-sent events (`runs.stream`, resumable too). `onRunEvent` is told of each new
 * `run.*` event (the page reloads the run then).
 */
export function useRunTimeline(client: SkreaverClient, run: { id: string; agent_id: string } | undefined, onRunEvent: () => void): { events: RunEventV1[]; state: TimelineState } {
  const [events, setEvents] = useState<RunEventV1[]>([]);
  const [state, setState] = useState<TimelineState>('connecting');
  const told = useRef(onRunEvent);
  told.current = onRunEvent;
  const runId = run?.id;
  const agentId = run?.agent_id;

  useEffect(() => {
    if (!runId || !agentId) return undefined;
    const page = new AbortController();
    const timeline = new RunTimeline(runId);
    // Aborted once the log holds the end of the run, however it got there: stops waiting for live events.
    const watching = new AbortController();
    page.signal.addEventListener('abort', () => watching.abort(), { once: true });

    const take = (received: RunEventV1[]) => {
      const added = received.filter((event) => timeline.add(event));
      if (added.length === 0) return;
      setEvents(timeline.events());
      if (added.some((event) => event.type.startsWith('run.'))) told.current();
      if (timeline.ended) watching.abort();
    };
    const readLog = async () => {
      let after = timeline.resumeAfter;
      for (;;) {
        const read = await client.events.list(runId, { after, limit: PAGE, signal: page.signal });
        take(read.items);
        if (read.items.length < PAGE || !read.next_after) return;
        after = read.next_after;
      }
    };

    const follow = async () => {
      let after = timeline.lastId;
      let everLive = false;
      let gatewayDown = false;
      while (!timeline.ended && !gatewayDown) {
        const attempt = new AbortController();
        const stop = () => attempt.abort();
        watching.signal.addEventListener('abort', stop, { once: true });
        let failures = 0;
        let answered = false;
        const giveUp = () => {
          gatewayDown = true;
          attempt.abort();
        };
        const patience = everLive ? undefined : setTimeout(giveUp, GATEWAY_WAIT_MS);
        const watch = client.agents.watch(agentId, {
          after,
          signal: attempt.signal,
          // A page keeps trying (the SDK backs off up to 2 s between attempts) until the user leaves it.
          maxReconnects: Number.MAX_SAFE_INTEGER,
          onState: (next) => {
            // A busy gateway (refused as `overloaded` or `max_connections`) is there: wait for it like a live one.
            if (next === 'busy') {
              answered = true;
              clearTimeout(patience);
            }
            if (next === 'reconnecting' && !everLive && !answered && ++failures >= GATEWAY_ATTEMPTS) return giveUp();
            if (next === 'live') {
              everLive = true;
              clearTimeout(patience);
              // Subscribed (again): whatever happened before the subscription took hold is in the log.
              readLog().catch(() => undefined);
            }
            setState(next);
          },
        });
        try {
          for await (const event of watch) take([event]);
        } catch (error) {
          if (timeline.ended || page.signal.aborted) return;
          if (gatewayDown) break;
          // The event to resume after left the gateway's stream (an old run): subscribe from now, the log fills the gap.
          if (error instanceof SkreaverError && error.code === 'replay_unavailable' && after) {
            after = undefined;
            continue;
          }
          throw error;
        } finally {
          clearTimeout(patience);
          watching.signal.removeEventListener('abort', stop);
        }
      }
      if (!gatewayDown || timeline.ended) return;
      // ws-gateway never answered (not routed, not reachable): follow the run over agent-api's server-sent events.
      try {
        const stream = client.runs.stream(runId, { after: timeline.resumeAfter, signal: watching.signal, maxReconnects: Number.MAX_SAFE_INTEGER, onState: setState, via: 'sse' });
        for await (const event of stream) take([event]);
      } catch (error) {
        if (!timeline.ended) throw error;
      }
    };

    void (async () => {
      try {
        setState('connecting');
        await readLog();
        await follow();
        if (!page.signal.aborted) setState('ended');
      } catch (error) {
        if (!page.signal.aborted) setState(`stream stopped: ${describeError(error)}`);
      }
    })();
    return () => page.abort();
  }, [client, runId, agentId]);

  return { events, state };
}
