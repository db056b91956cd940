import { PostMeshMessageRequest } from '../http/mesh';
import { MeshEnvelopeV1, meshRouteOf } from './mesh-envelope.v1';

const AGENT = '3f1c2b6e-8d7a-4e1b-9c2d-0a1b2c3d4e5f';
const base = { id: 'm-1', tenant_id: 'default', from: 'key:abc', kind: 'task', payload: { n: 1 }, ts: '2026-01-01T00:00:00.000Z' };

describe('MeshEnvelopeV1', () => {
  it.each([
    ['unicast', { ...base, to: AGENT }],
    ['topic', { ...base, topic: 'alerts' }],
    ['broadcast', { ...base, broadcast: true }],
  ] as const)('should accept a %s envelope and route it so', (route, envelope) => {
    const parsed = MeshEnvelopeV1.parse(envelope);

    expect(meshRouteOf(parsed)).toBe(route);
  });

  it('should refuse an envelope with no address', () => {
    expect(MeshEnvelopeV1.safeParse(base).success).toBe(false);
  });
});

describe('PostMeshMessageRequest', () => {
  it('should refuse two addresses at once', () => {
    expect(PostMeshMessageRequest.safeParse({ kind: 'x', to: AGENT, topic: 'alerts' }).success).toBe(false);
  });

  it('should refuse wait_seconds on a topic message', () => {
    expect(PostMeshMessageRequest.safeParse({ kind: 'x', topic: 'alerts', wait_seconds: 1 }).success).toBe(false);
  });

  it('should default the payload to null', () => {
    expect(PostMeshMessageRequest.parse({ kind: 'x', broadcast: true })).toEqual({ kind: 'x', broadcast: true, payload: null });
  });
});
