import type { Agent, MeshEnvelopeV1 } from '@skreaver/contracts';
import type { MeshStore, RedisConnections, StreamProducer } from '@skreaver/messaging';
import { JsonLogger } from '@skreaver/observability';
import type { DatabaseHealth } from '@skreaver/persistence';
import { MeshBackpressureError } from '@skreaver/runs';
import type { MeshPublisher, RunBatchCreator, RunCreator } from '@skreaver/runs';

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

function setup(recipients: Agent[], options: { claimed?: boolean; room?: number; taken?: string[] } = {}) {
  const mocks = {
    publisher: {
      recipients: jest.fn(async () => recipients),
      checkInbox: jest.fn(async () => undefined),
      inboxRoom: jest.fn(async (ids: string[]) => new Map(ids.map((id) => [id, options.room ?? 1_000]))),
      inboxLimit: 1_000,
    },
    batchCreator: {
      createQueued: jest.fn(async (requests: { idempotencyKey: string }[]) =>
        requests.map((request, i) => ((options.taken ?? []).includes(request.idempotencyKey) ? null : `run-${i}`)),
      ),
    },
    creator: {
      create: jest.fn(async (_agent: Agent, _input: unknown, opts: { precheck?: () => Promise<void> }) => {
        await opts.precheck?.();
        return { run: {}, created: true };
      }),
    },
    store: {
      claimMessage: jest.fn(async () => options.claimed ?? true),
      claimMessages: jest.fn(async (messages: { entryId: string }[]) => new Set(options.claimed === false ? [] : messages.map((m) => m.entryId))),
    },
    presence: { touch: jest.fn(async () => undefined) },
    producer: { publish: jest.fn(async () => '1-0') },
  };
  const config = MeshCoordinatorConfig.load({ WORKER_ID: 'w-1', REDIS_KEY_PREFIX: 'p' });
  const sut = new MeshDeliveryService(
    mocks.publisher as unknown as MeshPublisher,
    mocks.creator as unknown as RunCreator,
    mocks.batchCreator as unknown as RunBatchCreator,
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

  describe('deliverBatch', () => {
    const item = (id: string, address: Record<string, unknown>, deliveries = 1) => ({
      payload: envelope(address, { id: `m-${id}` }),
      meta: { id: `${id}-0`, deliveries },
    });

    it('should create the unicast runs of a read together, keyed by message id, and report no failure', async () => {
      const { sut, mocks } = setup([A]);

      const failures = await sut.deliverBatch([item('1', { to: A.id }), item('2', { to: A.id })]);

      expect(failures.size).toBe(0);
      expect(mocks.publisher.recipients).toHaveBeenCalledTimes(1);
      expect(mocks.batchCreator.createQueued).toHaveBeenCalledTimes(1);
      expect(mocks.batchCreator.createQueued).toHaveBeenCalledWith(
        [expect.objectContaining({ agent: A, idempotencyKey: 'mesh:m-1' }), expect.objectContaining({ agent: A, idempotencyKey: 'mesh:m-2' })],
        'mesh',
      );
      expect(mocks.creator.create).not.toHaveBeenCalled();
      expect(mocks.presence.touch).toHaveBeenCalledWith('default', [A.id]);
    });

    it('should keep stream order around a message that goes alone, and send redeliveries and taken keys through deliver', async () => {
      const { sut, mocks } = setup([A], { taken: ['mesh:m-2'] });
      const order: string[] = [];
      mocks.batchCreator.createQueued.mockImplementation(async (requests: { idempotencyKey: string }[]) => {
        order.push(`batch:${requests.map((r) => r.idempotencyKey).join(',')}`);
        return requests.map((r, i) => (r.idempotencyKey === 'mesh:m-2' ? null : `run-${i}`));
      });
      mocks.creator.create.mockImplementation(async (_agent: Agent, input: unknown) => {
        order.push(`one:${(input as { mesh: { message_id: string } }).mesh.message_id}`);
        return { run: {}, created: true };
      });

      await sut.deliverBatch([item('1', { to: A.id }), item('2', { to: A.id }), item('3', { topic: 't' }), item('4', { to: A.id }), item('5', { to: A.id }, 2)]);

      expect(order).toEqual(['batch:mesh:m-1,mesh:m-2', 'one:m-2', 'one:m-3', 'batch:mesh:m-4', 'one:m-5']);
    });

    it('should leave messages past the inbox room pending, and drop duplicates', async () => {
      const { sut, mocks } = setup([A], { room: 1 });

      const failures = await sut.deliverBatch([item('1', { to: A.id }), item('2', { to: A.id })]);

      expect([...failures.keys()]).toEqual(['2-0']);
      expect(failures.get('2-0')).toBeInstanceOf(MeshBackpressureError);
      expect(mocks.batchCreator.createQueued).toHaveBeenCalledWith([expect.objectContaining({ idempotencyKey: 'mesh:m-1' })], 'mesh');

      const duplicates = setup([A], { claimed: false });
      expect((await duplicates.sut.deliverBatch([item('1', { to: A.id })])).size).toBe(0);
      expect(duplicates.mocks.batchCreator.createQueued).not.toHaveBeenCalled();
    });

    it('should dead-letter a message whose addressee is gone and ack it', async () => {
      const { sut, mocks } = setup([]);

      const failures = await sut.deliverBatch([item('1', { to: A.id })]);

      expect(failures.size).toBe(0);
      expect(mocks.producer.publish).toHaveBeenCalledWith(expect.objectContaining({ name: 'dead-letters' }), expect.objectContaining({ reason: 'no_recipient', entry_id: '1-0' }));
    });
  });
});
