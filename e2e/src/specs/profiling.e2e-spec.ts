import type { CreatedApiKey } from '@skreaver/contracts';

import { call } from '../support/api-client';
import { startStack } from '../support/stack';
import type { Stack } from '../support/stack';

// SKREAVER_ENABLE_PROFILING=true: every service serves admin-only CPU profiles and heap snapshots.
describe('profiling endpoints', () => {
  let stack: Stack;
  let viewerToken: string;

  beforeAll(async () => {
    stack = await startStack({ env: { SKREAVER_ENABLE_PROFILING: 'true' } });
    const viewer = await call<CreatedApiKey>(stack.api.url, 'POST', '/api-keys', { name: 'watcher', role: 'viewer' });
    viewerToken = await stack.token(viewer.body.key);
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  }, 30_000);

  it('should return a CPU profile and a heap snapshot to an admin, on every service', async () => {
    const admin = { authorization: `Bearer ${stack.adminToken}` };
    for (const service of stack.all()) {
      const cpu = await fetch(`${service.url}/debug/profile/cpu?seconds=1`, { headers: admin });
      expect([service.name, cpu.status]).toEqual([service.name, 200]);
      const profile = (await cpu.json()) as { nodes: unknown[]; startTime: number; endTime: number };
      expect(profile.nodes.length).toBeGreaterThan(0);
      expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(900_000);

      const heap = await fetch(`${service.url}/debug/profile/heap`, { headers: admin });
      expect(heap.status).toBe(200);
      expect((await heap.text()).slice(0, 12)).toBe('{"snapshot":');
    }
  }, 60_000);

  it('should refuse anyone but an admin', async () => {
    for (const service of stack.all()) {
      const anonymous = await fetch(`${service.url}/debug/profile/cpu?seconds=1`);
      expect([service.name, anonymous.status]).toEqual([service.name, 401]);
      const viewer = await fetch(`${service.url}/debug/profile/heap`, { headers: { authorization: `Bearer ${viewerToken}` } });
      expect([service.name, viewer.status]).toEqual([service.name, 403]);
    }
  });

  it('should reject out-of-range durations with 400', async () => {
    const response = await fetch(`${stack.coordinator.url}/debug/profile/cpu?seconds=999`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    expect(response.status).toBe(400);
  });
});
