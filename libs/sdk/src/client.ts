import type {
  Agent,
  AgentList,
  AgentStatusReport,
  ApiKey,
  ApiKeyList,
  AuditList,
  BatchResponse,
  CreateAgentRequest,
  CreateApiKeyRequest,
  CreateThreadRequest,
  CreatedApiKey,
  JsonValue,
  MemoryEntry,
  MemoryPage,
  MeshDeadLetterList,
  MeshPresenceList,
  ObserveResponse,
  PostMeshMessageRequest,
  PostMeshMessageResponse,
  RedrivenRun,
  ResumeRunRequest,
  Run,
  RunEventsPage,
  RunList,
  RunStatus,
  Thread,
  ThreadHistoryPage,
  ThreadList,
  ThreadStatus,
  TokenResponse,
  ToolList,
  UpdateAgentRequest,
  UpdateThreadRequest,
} from './contracts';

import { SkreaverError } from './errors';
import { AgentEventWatch, RunEventStream, socketIoConnector, socketIoRunConnector, webSocketConnector } from './stream';
import type { RunLiveConnector, StreamOptions } from './stream';
import { Transport, path } from './transport';
import type { Call, CallOptions, SkreaverClientOptions, WebSocketConstructor } from './transport';

/** Options of a call that starts something: an `Idempotency-Key` makes it safe to retry (and the SDK retries it). */
export interface IdempotentOptions extends CallOptions {
  idempotencyKey?: string;
}

export interface CreateRunOptions extends IdempotentOptions, Pick<StreamOptions, 'onState' | 'maxReconnects'> {
  /** Seconds (0–300) to wait for the run to finish: the finished run, or the run as it is at the deadline. */
  wait?: number;
}

export interface ListOptions extends CallOptions {
  limit?: number;
}

const idempotency = (options: IdempotentOptions = {}): Pick<Call, 'headers' | 'idempotent' | 'signal'> => ({
  headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined,
  idempotent: options.idempotencyKey !== undefined,
  signal: options.signal,
});

/**
 * The Skreaver API client. `new SkreaverClient({ baseUrl, apiKey })` exchanges the key for a token on the first call
 * and refreshes it before it expires; every method takes an `AbortSignal` (`{ signal }`) and rejects with a
 * {@link SkreaverError}. See docs/sdk.md.
 */
export class SkreaverClient {
  /** The HTTP layer (for calls the namespaces do not cover yet). */
  readonly transport: Transport;

  constructor(readonly options: SkreaverClientOptions) {
    this.transport = new Transport(options);
  }

  /** ws-gateway's run subscriptions over socket.io, when the client has `gatewayUrl` and `io`; SSE otherwise. */
  private runConnector(): RunLiveConnector | undefined {
    const { gatewayUrl, io } = this.options;
    return gatewayUrl && io ? socketIoRunConnector(gatewayUrl, io) : undefined;
  }

  /** A POST that starts a run answered with its events (`?stream=true`); a drop resumes it by the run id it named. */
  private startStream(call: Call, options: CreateRunOptions): RunEventStream {
    return new RunEventStream(
      this.transport,
      undefined,
      { signal: options.signal, onState: options.onState, maxReconnects: options.maxReconnects },
      { ...call, query: { stream: 'true' }, headers: { ...call.headers, accept: 'text/event-stream' } },
      this.runConnector(),
    );
  }

  private call<T>(call: Call): Promise<T> {
    return this.transport.json<T>({ idempotent: call.method === 'GET' || call.method === 'PUT', ...call });
  }

  /** `GET /health` (liveness) and `GET /ready` (every dependency with its status). */
  readonly system = {
    health: (options: CallOptions = {}) => this.call<{ status: string }>({ method: 'GET', path: '/health', auth: false, signal: options.signal }),
    ready: (options: CallOptions = {}) => this.call<{ status: string; checks?: unknown }>({ method: 'GET', path: '/ready', auth: false, signal: options.signal }),
  };

  readonly auth = {
    /** Exchanges an API key (the client's own by default) for an access token. */
    token: async (options: CallOptions & { apiKey?: string } = {}): Promise<TokenResponse> => {
      const apiKey = options.apiKey ?? this.options.apiKey;
      if (!apiKey) throw new TypeError('auth.token: no API key (pass one, or create the client with apiKey)');
      const answer = await this.call<TokenResponse>({ method: 'POST', path: '/auth/token', auth: false, headers: { 'x-api-key': apiKey }, idempotent: true, signal: options.signal });
      if (apiKey === this.options.apiKey) this.transport.useToken(answer);
      return answer;
    },
    /** Revokes a token (the client's own without `token`; an admin may revoke any token of the tenant). */
    revoke: async (options: CallOptions & { token?: string } = {}): Promise<void> => {
      await this.call<void>({ method: 'POST', path: '/auth/revoke', body: options.token ? { token: options.token } : {}, signal: options.signal });
      if (!options.token) this.transport.forgetToken();
    },
    /** Revokes every token of the tenant issued until now (admin). */
    revokeAll: (options: CallOptions = {}) => this.call<void>({ method: 'POST', path: '/auth/revoke-all', signal: options.signal }),
  };

  readonly apiKeys = {
    create: (request: CreateApiKeyRequest, options: CallOptions = {}) => this.call<CreatedApiKey>({ method: 'POST', path: '/api-keys', body: request, signal: options.signal }),
    list: (query: CallOptions & { prefix?: string } = {}) => this.call<ApiKeyList>({ method: 'GET', path: '/api-keys', query: { prefix: query.prefix }, signal: query.signal }),
    revoke: (id: string, options: CallOptions = {}) => this.call<ApiKey | void>({ method: 'DELETE', path: path`/api-keys/${id}`, signal: options.signal }),
  };

  readonly audit = {
    list: (query: ListOptions & { before?: number } = {}) => this.call<AuditList>({ method: 'GET', path: '/audit', query: { limit: query.limit, before: query.before }, signal: query.signal }),
  };

  readonly agents = {
    create: (request: CreateAgentRequest, options: CallOptions = {}) => this.call<Agent>({ method: 'POST', path: '/agents', body: request, signal: options.signal }),
    list: (query: ListOptions & { kind?: string; status?: string; name?: string; cursor?: string } = {}) =>
      this.call<AgentList>({ method: 'GET', path: '/agents', query: { kind: query.kind, status: query.status, name: query.name, limit: query.limit, cursor: query.cursor }, signal: query.signal }),
    get: (id: string, options: CallOptions = {}) => this.call<Agent>({ method: 'GET', path: path`/agents/${id}`, signal: options.signal }),
    update: (id: string, patch: UpdateAgentRequest, options: CallOptions = {}) => this.call<Agent>({ method: 'PATCH', path: path`/agents/${id}`, body: patch, signal: options.signal }),
    delete: (id: string, options: CallOptions = {}) => this.call<void>({ method: 'DELETE', path: path`/agents/${id}`, signal: options.signal }),
    status: (id: string, options: CallOptions = {}) => this.call<AgentStatusReport>({ method: 'GET', path: path`/agents/${id}/status`, signal: options.signal }),
    /** Every event of the agent's runs, live, through ws-gateway (`gatewayUrl`; `/ws`, or socket.io with `io`); resumes after drops. */
    watch: (id: string, options: StreamOptions = {}): AgentEventWatch => {
      const { gatewayUrl, io } = this.options;
      if (!gatewayUrl) throw new TypeError('agents.watch needs gatewayUrl (ws-gateway)');
      if (io) return new AgentEventWatch(this.transport, id, socketIoConnector(gatewayUrl, io), options);
      const WebSocketImpl = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (!WebSocketImpl) throw new TypeError('agents.watch: no WebSocket in this runtime; pass options.WebSocket (e.g. the ws package) or options.io');
      return new AgentEventWatch(this.transport, id, webSocketConnector(gatewayUrl, WebSocketImpl), options);
    },
  };

  readonly events = {
    /** A page of a run's event log, oldest first; `next_after` continues it. */
    list: (runId: string, query: ListOptions & { after?: string } = {}) =>
      this.call<RunEventsPage>({ method: 'GET', path: path`/runs/${runId}/events`, query: { after: query.after, limit: query.limit }, signal: query.signal }),
    /**
     * The run's events live (its log first), until its terminal event; resumes after a dropped connection. Over
     * socket.io through ws-gateway when the client has `gatewayUrl` and `io` (unless `via: 'sse'`), else server-sent
     * events from agent-api.
     */
    stream: (runId: string, options: StreamOptions = {}) =>
      new RunEventStream(this.transport, runId, options, undefined, options.via === 'sse' ? undefined : this.runConnector()),
  };

  readonly runs = {
    /**
     * Starts a run of `agentId` with `input`. `{ wait: s }` answers the finished run (or the run at the deadline);
     * `{ stream: true }` answers a {@link RunEventStream} of its events instead. With an `idempotencyKey` the same
     * call again (or a retry) gets the first run back.
     */
    create: ((agentId: string, input: JsonValue, options: CreateRunOptions & { stream?: boolean } = {}) => {
      const call: Call = {
        method: 'POST',
        path: path`/agents/${agentId}/runs`,
        body: { input },
        ...idempotency(options),
      };
      if (options.stream) return this.startStream(call, options);
      return this.call<Run>({ ...call, query: { wait: options.wait } });
    }) as {
      (agentId: string, input: JsonValue, options: CreateRunOptions & { stream: true }): RunEventStream;
      (agentId: string, input: JsonValue, options?: CreateRunOptions & { stream?: false }): Promise<Run>;
    },
    get: (id: string, options: CallOptions = {}) => this.call<Run>({ method: 'GET', path: path`/runs/${id}`, signal: options.signal }),
    /** The tenant's runs, newest first; `{ status: 'failed' }` is the dead-letter list; `cursor` = a page's `next_cursor`. */
    list: (query: ListOptions & { status?: RunStatus | 'dead'; agentId?: string; cursor?: string } = {}) =>
      this.call<RunList>({ method: 'GET', path: '/runs', query: { status: query.status, agent_id: query.agentId, limit: query.limit, cursor: query.cursor }, signal: query.signal }),
    /** One agent's runs, newest first; `cursor` = a page's `next_cursor`. */
    listByAgent: (agentId: string, query: ListOptions & { cursor?: string } = {}) =>
      this.call<RunList>({ method: 'GET', path: path`/agents/${agentId}/runs`, query: { limit: query.limit, cursor: query.cursor }, signal: query.signal }),
    cancel: (id: string, options: CallOptions & { reason?: string } = {}) =>
      this.call<Run>({ method: 'POST', path: path`/runs/${id}/cancel`, body: options.reason ? { reason: options.reason } : {}, signal: options.signal }),
    /** A new run with a failed run's input. */
    redrive: (id: string, options: CallOptions = {}) => this.call<RedrivenRun>({ method: 'POST', path: path`/runs/${id}/redrive`, signal: options.signal }),
    /** Answers a run waiting for input: `{ inputs: { input_1: … } }` or `{ approve: true }`. */
    resume: (id: string, answer: ResumeRunRequest, options: IdempotentOptions = {}) =>
      this.call<Run>({ method: 'POST', path: path`/runs/${id}/resume`, body: answer, ...idempotency(options) }),
    /** Runs the agent and answers its output (upstream Skreaver's `observe`). */
    observe: (agentId: string, input: JsonValue, options: CallOptions & { timeoutSeconds?: number } = {}) =>
      this.call<ObserveResponse>({ method: 'POST', path: path`/agents/${agentId}/observe`, body: { input, ...(options.timeoutSeconds === undefined ? {} : { timeout_seconds: options.timeoutSeconds }) }, signal: options.signal }),
    /** Runs the agent and streams its events (not resumable: the answer names no run id; prefer `create(…, { stream: true })`). */
    observeStream: (agentId: string, input: JsonValue, options: CallOptions = {}) =>
      new RunEventStream(this.transport, undefined, { signal: options.signal, maxReconnects: 0 }, { method: 'POST', path: path`/agents/${agentId}/observe/stream`, body: { input }, headers: { accept: 'text/event-stream' } }),
    /** Runs the agent once per input (1–100) and answers every outcome in input order. */
    batch: (agentId: string, inputs: JsonValue[], options: CallOptions & { timeoutSeconds?: number } = {}) =>
      this.call<BatchResponse>({ method: 'POST', path: path`/agents/${agentId}/batch`, body: { inputs, ...(options.timeoutSeconds === undefined ? {} : { timeout_seconds: options.timeoutSeconds }) }, signal: options.signal }),
    /** A page of the run's event log (same as `events.list`). */
    events: (id: string, query: ListOptions & { after?: string } = {}) => this.events.list(id, query),
    /** The run's events live until its terminal event (same as `events.stream`). */
    stream: (id: string, options: StreamOptions = {}) => this.events.stream(id, options),
  };

  readonly threads = {
    create: (request: CreateThreadRequest, options: CallOptions = {}) => this.call<Thread>({ method: 'POST', path: '/threads', body: request, signal: options.signal }),
    list: (query: ListOptions & { agentId?: string; status?: ThreadStatus; cursor?: string } = {}) =>
      this.call<ThreadList>({ method: 'GET', path: '/threads', query: { agent_id: query.agentId, status: query.status, limit: query.limit, cursor: query.cursor }, signal: query.signal }),
    get: (id: string, options: CallOptions = {}) => this.call<Thread>({ method: 'GET', path: path`/threads/${id}`, signal: options.signal }),
    update: (id: string, patch: UpdateThreadRequest, options: CallOptions = {}) => this.call<Thread>({ method: 'PATCH', path: path`/threads/${id}`, body: patch, signal: options.signal }),
    delete: (id: string, options: CallOptions = {}) => this.call<void>({ method: 'DELETE', path: path`/threads/${id}`, signal: options.signal }),
    /** Sends the thread its next input (a run of its agent); `checkpointId` forks it from that checkpoint. */
    run: ((threadId: string, input: JsonValue, options: CreateRunOptions & { stream?: boolean; checkpointId?: string } = {}) => {
      const call: Call = {
        method: 'POST',
        path: path`/threads/${threadId}/runs`,
        body: { input, ...(options.checkpointId ? { checkpoint_id: options.checkpointId } : {}) },
        ...idempotency(options),
      };
      if (options.stream) return this.startStream(call, options);
      return this.call<Run>({ ...call, query: { wait: options.wait } });
    }) as {
      (threadId: string, input: JsonValue, options: CreateRunOptions & { stream: true; checkpointId?: string }): RunEventStream;
      (threadId: string, input: JsonValue, options?: CreateRunOptions & { stream?: false; checkpointId?: string }): Promise<Run>;
    },
    /** The thread's checkpoints, newest first. */
    history: (id: string, query: ListOptions & { before?: number } = {}) =>
      this.call<ThreadHistoryPage>({ method: 'GET', path: path`/threads/${id}/history`, query: { before: query.before, limit: query.limit }, signal: query.signal }),
  };

  readonly memory = {
    list: (agentId: string, query: ListOptions & { prefix?: string; after?: string } = {}) =>
      this.call<MemoryPage>({ method: 'GET', path: path`/agents/${agentId}/memory`, query: { prefix: query.prefix, after: query.after, limit: query.limit }, signal: query.signal }),
    get: (agentId: string, key: string, options: CallOptions = {}) => this.call<MemoryEntry>({ method: 'GET', path: path`/agents/${agentId}/memory/${key}`, signal: options.signal }),
    /** Creates or replaces an entry (idempotent, so retried like a GET). */
    put: (agentId: string, key: string, value: JsonValue, options: CallOptions & { ttlSeconds?: number } = {}) =>
      this.call<MemoryEntry>({ method: 'PUT', path: path`/agents/${agentId}/memory/${key}`, body: { value, ...(options.ttlSeconds === undefined ? {} : { ttl_seconds: options.ttlSeconds }) }, signal: options.signal }),
    delete: (agentId: string, key: string, options: CallOptions = {}) => this.call<void>({ method: 'DELETE', path: path`/agents/${agentId}/memory/${key}`, signal: options.signal }),
  };

  readonly mesh = {
    send: (message: PostMeshMessageRequest, options: CallOptions = {}) => this.call<PostMeshMessageResponse>({ method: 'POST', path: '/mesh/messages', body: message, signal: options.signal }),
    presence: (options: CallOptions = {}) => this.call<MeshPresenceList>({ method: 'GET', path: '/mesh/presence', signal: options.signal }),
    deadLetters: (query: ListOptions = {}) => this.call<MeshDeadLetterList>({ method: 'GET', path: '/mesh/dead-letters', query: { limit: query.limit }, signal: query.signal }),
    redriveDeadLetter: (id: string, options: CallOptions = {}) => this.call<unknown>({ method: 'POST', path: path`/mesh/dead-letters/${id}/redrive`, signal: options.signal }),
    removeDeadLetter: (id: string, options: CallOptions = {}) => this.call<void>({ method: 'DELETE', path: path`/mesh/dead-letters/${id}`, signal: options.signal }),
  };

  readonly tools = {
    list: (options: CallOptions = {}) => this.call<ToolList>({ method: 'GET', path: '/tools', signal: options.signal }),
  };
}

export { SkreaverError };
