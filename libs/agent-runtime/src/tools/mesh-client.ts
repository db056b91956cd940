import type { JsonValue, MeshReplyV1 } from '@skreaver/contracts';

/** A message as an agent sends it: to an agent, a topic, or every agent of its tenant. */
export type MeshToolMessage = { kind: string; payload: JsonValue; ttl_ms?: number } & ({ to: string } | { topic: string } | { broadcast: true });

/**
 * The mesh as tools see it (the coordinator implements it over Redis). Refusals are `ToolError`s with stable codes:
 * `mesh_backpressure` (retryable), `not_found`, `mesh_timeout`, `mesh_disabled`.
 */
export interface MeshClient {
  /** Publishes a message from `from` (the calling agent); resolves with its id. */
  send(from: { tenantId: string; agentId: string }, message: MeshToolMessage): Promise<{ id: string }>;
  /** Sends a unicast request and resolves with the target run's outcome, or throws `mesh_timeout` after `timeoutMs`. */
  request(from: { tenantId: string; agentId: string }, message: MeshToolMessage & { to: string }, timeoutMs: number, signal: AbortSignal): Promise<MeshReplyV1>;
}
