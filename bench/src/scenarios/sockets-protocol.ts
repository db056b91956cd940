/** Commands the `sockets` scenario sends its client processes (`sockets-clients.ts`) over IPC. */
export type SocketsCommand =
  | {
      cmd: 'connect';
      /** Base URL: a gateway, or the nginx edge. */
      url: string;
      token: string;
      count: number;
      /** Socket i binds to `localAddresses[i % n]` (nginx's ip_hash spreads clients by their address). */
      localAddresses: string[];
      /** Socket i subscribes to `agentIds[i % n]`; none: connected only. */
      agentIds: string[];
      parallel: number;
    }
  | { cmd: 'stats' }
  /** From now on a dropped socket reconnects to `url` and resumes after its last event, as the SDK does. */
  | { cmd: 'arm'; url: string }
  | { cmd: 'close-all' }
  /** Compares what each socket received (over all its connections) with every event of its agent's runs. */
  | { cmd: 'verify'; expected: Record<string, string[]> };

export interface SocketsStats {
  open: number;
  /** Sockets that received at least one event. */
  withEvents: number;
  events: number;
  /** Sockets dropped and not (yet) resumed. */
  down: number;
  /** Sockets that resumed after a drop (resubscribed with `after`, ack ok). */
  resumed: number;
  /** Failed reconnect or resubscribe attempts (each retried), and the first reason. */
  retries: number;
  /** Of `retries`, the attempts the gateway refused as busy (`overloaded`, `max_connections`). */
  busy: number;
  /** Initial connects refused as busy and retried (before any drop). */
  connectBusy: number;
  firstRetryReason?: string;
  /** Wall-clock ms (Date.now) of the first drop and of the last resume; per-resume delays after the drop. */
  firstDropAt?: number;
  lastResumeAt?: number;
  resumeDelaysMs: number[];
  /** The client process's event-loop delay since `arm` (its own callbacks run this late), ms. */
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
  /** Failed reconnect attempts by reason and the last stage they reached (e.g. `connect timeout after TCP`). */
  failedAttempts: Record<string, number>;
  /** One per resumed socket: when each stage of its successful reconnect was reached. */
  resumeStages: ResumeStages[];
}

/**
 * Wall-clock ms (Date.now) at which a dropped socket reached each stage of the reconnect that resumed it, to find where
 * a storm's time goes. `tcp`: TCP connected to the edge; `upgraded`: HTTP 101 (the edge reached a replica and the
 * replica answered the upgrade); `open`: engine.io's handshake packet; `connected`: socket.io connect (credential
 * accepted); `resumed`: the subscribe with `after` acknowledged.
 */
export interface ResumeStages {
  dropped: number;
  firstAttempt: number;
  /** Attempts until the one that resumed (1: the first did). */
  attempts: number;
  attempt: number;
  tcp: number;
  upgraded: number;
  open: number;
  connected: number;
  resumed: number;
}

export interface SocketsVerdict {
  sockets: number;
  expected: number;
  missing: number;
  duplicates: number;
  /** Events of other agents, or of runs not in the expected list. */
  unexpected: number;
  socketsWithLoss: number;
  socketsOutOfOrder: number;
}

export interface SocketsReply {
  done: SocketsCommand['cmd'];
  connected?: number;
  failed?: number;
  firstError?: string;
  stats?: SocketsStats;
  verdict?: SocketsVerdict;
}
