import { DATABASE_KINDS } from '@skreaver/testing';

import { bootAgentApi } from './agent-api.harness';
import type { BootedAgentApi } from './agent-api.harness';

const POOL_SIZE = 7;

/** The samples of `name` in Prometheus text, by their label set (`` for none). */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) found.set(match[1] ?? '', Number(match[2]));
  }
  return found;
}

describe.each(DATABASE_KINDS)('database metrics on %s', (kind) => {
  let api: BootedAgentApi;

  beforeAll(async () => {
    api = await bootAgentApi(kind, { DATABASE_POOL_SIZE: String(POOL_SIZE) });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('should export the pool size, the connections in use and the statement latencies', async () => {
    expect((await api.request('POST', '/agents', { token: api.adminToken, body: { name: 'metered', kind: 'echo' } })).status).toBe(201);
    expect((await api.request('GET', '/agents', { token: api.adminToken })).status).toBe(200);

    const text = String((await api.request('GET', '/metrics')).body);

    expect(samples(text, 'skreaver_db_connections_max').get('')).toBe(kind === 'postgres' ? POOL_SIZE : 1);
    const active = samples(text, 'skreaver_db_connections_active').get('');
    expect(active).toBeGreaterThanOrEqual(0);
    expect(active).toBeLessThanOrEqual(kind === 'postgres' ? POOL_SIZE : 1);
    const counts = samples(text, 'skreaver_db_query_duration_seconds_count');
    expect(counts.get('{operation="select"}')).toBeGreaterThan(0);
    expect(counts.get('{operation="insert"}')).toBeGreaterThan(0);
  });
});
