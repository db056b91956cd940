import type { RunEventV1 } from '@skreaver/contracts';

/** What a subscription listens to. */
export type SubscriptionTarget = { kind: 'agent'; id: string } | { kind: 'run'; id: string } | { kind: 'topic'; name: string };

// Rooms carry the tenant: an event only ever reaches the rooms of its own tenant, whatever ids a client guesses.

/** The room of a target within a tenant: `t:<tenant>:agent:<id>`, `t:<tenant>:run:<id>` or `t:<tenant>:topic:<name>`. */
export function roomOf(tenantId: string, target: SubscriptionTarget): string {
  return target.kind === 'topic' ? `t:${tenantId}:topic:${target.name}` : `t:${tenantId}:${target.kind}:${target.id}`;
}

/** The rooms a run event is delivered to: its agent's and its run's, in its tenant. */
export function roomsOfEvent(event: RunEventV1): [string, string] {
  return [roomOf(event.tenant_id, { kind: 'agent', id: event.agent_id }), roomOf(event.tenant_id, { kind: 'run', id: event.run_id })];
}
