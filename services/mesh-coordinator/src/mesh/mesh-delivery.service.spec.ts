import type { Agent, MeshEnvelopeV1 } from '@skreaver/contracts';
import type { MeshStore, RedisConnections, StreamProducer } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import type { DatabaseHealth } from '@skreaver/persistence';
import { MeshBackpressureError } from '@skreaver/runs';
import type { MeshPublisher, RunCreator } from '@skreaver/runs';

import { MeshCoordinatorConfig } from '../config';
import type { AgentPresenceService } from './agent-presence.service';
import { MeshDeliveryService } from './mesh-delivery.service';
import { MeshMetrics } from './mesh-metrics';

const SENDER = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const agentOf = (id: string): Agent =>
  ({ id, tenant_id: 'default', name: 'a', kind: 'echo', config: {}, concurrency: { policy: 'parallel', max_concurrency: 5 } }) as unknown as Agent;
const A = agentOf('3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f');
const B = agentOf('9b2e4c1d-5a6f-4b7c-8d9e-1f2a3b4c5d6e');

function envelope(address: Record<string, unknown>, extra: Partial<MeshEnvelopeV1> = {}): MeshEnvelopeV1 {
  return { id: 'm-1', tenant_id: 'default', from: SENDER, kind: 'task', payload: { n: 1 }, ts: new Date().toISOString(), ...address, ...extra } as MeshEnvelopeV1;
}

function setup(recipients: Agent[], options: { claimed?: boolean } = {}) {
  const mocks = {
    publisher: { recipients: jest.fn(async () => recipients), checkInbox: jest.fn(async () => undefined) },
    creator: {
      create: jest.fn(async (_agent: Agent, _input: unknown, opts: { precheck?: () => Promise<void> }) => {
        await opts.precheck?.();
        return { run: {}, created: true };
      }),
    },
    store: { claimMessage: jest.fn(async () => options.claimed ?? true) },
    presence: { touch: jest.fn(async () => undefined) },
    producer: { publish: jest.fn(async () => '1-0') },
  };
  const config = MeshCoordinatorConfig.load({ WORKER_ID: 'w-1', REDIS_KEY_PREFIX: 'p' });
  const sut = new MeshDeliveryService(
    mocks.publisher as unknown as MeshPublisher,
    mocks.creator as unknown as RunCreator,
    mocks.store as unknown as MeshStore,
    mocks.presence as unknown as AgentPresenceService,
    mocks.producer as unknown as StreamProducer,
    {} as RedisConnections,
    {} as DatabaseHealth,
    new MeshMetrics(),
    new JsonLogger('skreaver_mesh_coordinator', 'error', () => undefined),
    config,
  );
  return { sut, mocks };
}

const meta = { id: '5-0', deliveries: 1 };

describe(MeshDeliveryService.name, () => {
  it('should make one mesh run per recipient, keyed by the message id, with the envelope as input', async () => {
    const { sut, mocks } = setup([A, B]);

    await sut.deliver(envelope({ topic: 'alerts' }, { correlation_id: 'c-1' }), meta);

    expect(mocks.creator.create).toHaveBeenCalledTimes(2);
    expect(mocks.creator.create).toHaveBeenCalledWith(
      B,
      { mesh: { message_id: 'm-1', from: SENDER, kind: 'task', topic: 'alerts', correlation_id: 'c-1' }, payload: { n: 1 } },
      expect.objectContaining({ source: 'mesh', idempotencyKey: 'mesh:m-1' }),
    );
    expect(mocks.store.claimMessage).toHaveBeenCalledWith('default', 'm-1', '5-0', 86_400);
    expect(mocks.presence.touch).toHaveBeenCalledWith('default', [A.id, B.id]);
  });

  it('should drop a message id already published as another entry', async () => {
    const { sut, mocks } = setup([A], { claimed: false });

    await sut.deliver(envelope({ to: A.id }), meta);

    expect(mocks.publisher.recipients).not.toHaveBeenCalled();
    expect(mocks.creator.create).not.toHaveBeenCalled();
  });

  it('should not deliver a message past its ttl', async () => {
    const { sut, mocks } = setup([A]);

    await sut.deliver(envelope({ to: A.id }, { ts: new Date(Date.now() - 1_000).toISOString(), ttl_ms: 500 }), meta);

    expect(mocks.creator.create).not.toHaveBeenCalled();
  });

  it('should dead-letter a unicast message whose addressee is gone, with the reason', async () => {
    const { sut, mocks } = setup([]);
    const message = envelope({ to: A.id });

    await sut.deliver(message, meta);

    expect(mocks.producer.publish).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'dead-letters' }),
      expect.objectContaining({ reason: 'no_recipient', entry_id: '5-0', group: 'mesh-delivery', fields: { data: JSON.stringify(message) } }),
    );
    expect(mocks.creator.create).not.toHaveBeenCalled();
  });

  it('should throw (leaving the entry pending) when a recipient inbox is full', async () => {
    const { sut, mocks } = setup([A]);
    mocks.publisher.checkInbox.mockRejectedValueOnce(new MeshBackpressureError(A.id, 1));

    await expect(sut.deliver(envelope({ to: A.id }), meta)).rejects.toBeInstanceOf(MeshBackpressureError);
    expect(mocks.presence.touch).not.toHaveBeenCalled();
  });
});
