import { Injectable } from '@nestjs/common';
import { counter } from '@skreaver/observability';

/** Messages sent through `POST /mesh/messages`, by route and outcome (accepted, backpressure). */
@Injectable()
export class MeshApiMetrics {
  readonly messages = counter({
    name: 'skreaver_mesh_messages_total',
    help: 'Mesh messages by route (unicast, topic, broadcast) and outcome',
    labelNames: ['route', 'status'],
  });
}
