import { RunEventV1 } from '../events/run-event.v1';
import { DeadLetterV1 } from './dead-letter.v1';
import { MeshEnvelopeV1 } from './mesh-envelope.v1';
import { defineStream } from './stream-def';

/** Every Redis stream of the platform: name ↔ schema ↔ version. */
export const Streams = {
  /** One run's event log (partition: run id); read by `GET /runs/{id}/events` and for replay. */
  runEvents: defineStream({ name: 'runs.events', version: 1, schema: RunEventV1, partitioned: true, maxLen: 10_000 }),
  /** Every event of every run, in append order; tailed by each ws-gateway replica. */
  events: defineStream({ name: 'events', version: 1, schema: RunEventV1, partitioned: false, maxLen: 100_000 }),
  /** Entries consumer groups gave up on, with the reason. */
  deadLetters: defineStream({ name: 'dead-letters', version: 1, schema: DeadLetterV1, partitioned: false, maxLen: 100_000 }),
  /**
   * Every mesh message of every tenant, consumed by the coordinators' group `mesh-delivery`. One unpartitioned stream
   * rather than one per tenant: a fixed key is all a consumer group needs (no discovery of tenants' streams), and
   * tenant scoping is carried by the envelope's `tenant_id`, checked at publish and at delivery.
   */
  meshMessages: defineStream({ name: 'mesh.messages', version: 1, schema: MeshEnvelopeV1, partitioned: false, maxLen: 100_000 }),
} as const;
