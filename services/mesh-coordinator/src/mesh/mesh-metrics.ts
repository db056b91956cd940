import { Injectable } from '@nestjs/common';
import { counter, histogram } from '@skreaver/observability';

/** Mesh delivery as operators graph it (stream lag, pending and dead letters: `StreamMetrics`). */
@Injectable()
export class MeshMetrics {
  readonly messages = counter({
    name: 'skreaver_mesh_messages_total',
    help: 'Mesh messages by route (unicast, topic, broadcast) and outcome (delivered, duplicate, expired, no_recipient, refused, failed)',
    labelNames: ['route', 'status'],
  });

  readonly latency = histogram({
    name: 'skreaver_mesh_delivery_latency_seconds',
    help: 'From a mesh message being sent to its runs being queued',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
  });
}
