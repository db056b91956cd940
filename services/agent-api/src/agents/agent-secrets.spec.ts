import type { Agent, JsonValue } from '@skreaver/contracts';

import { REDACTED, redactAgent, restoreSecrets } from './agent-secrets';

function agentWith(config: Record<string, JsonValue>): Agent {
  return {
    id: '6f1c1f8e-7a8a-4f55-9a43-2b7c0a9a1e11',
    tenant_id: 'default',
    name: 'hook',
    kind: 'webhook',
    config,
    concurrency: { policy: 'enqueue', max_concurrency: 1 },
    status: 'idle',
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    last_activity: null,
  };
}

describe(redactAgent.name, () => {
  it('should hide secret-named values at any depth and keep everything else', () => {
    const sut = redactAgent(
      agentWith({ url: 'https://example.test/hook', secret: 's3cr3t-s3cr3t-s3cr3t', llm: { api_key: 'sk-live', model: 'm' }, headers: [{ Authorization: 'Bearer x' }] }),
    );

    expect(sut.config).toEqual({ url: 'https://example.test/hook', secret: REDACTED, llm: { api_key: REDACTED, model: 'm' }, headers: [{ Authorization: REDACTED }] });
    expect(JSON.stringify(sut)).not.toMatch(/s3cr3t|sk-live|Bearer x/);
  });

  it('should leave a null secret as null (nothing to hide, and it tells the client none is set)', () => {
    expect(redactAgent(agentWith({ token: null })).config).toEqual({ token: null });
  });
});

describe(restoreSecrets.name, () => {
  const stored: JsonValue = { url: 'https://a.test', secret: 'old-secret-value-1234', nested: { api_key: 'old-key' } };

  it('should keep stored secrets where the client sent the placeholder back', () => {
    expect(restoreSecrets({ url: 'https://b.test', secret: REDACTED, nested: { api_key: REDACTED } }, stored)).toEqual({
      url: 'https://b.test',
      secret: 'old-secret-value-1234',
      nested: { api_key: 'old-key' },
    });
  });

  it('should take a new secret when the client sends one', () => {
    expect(restoreSecrets({ url: 'https://a.test', secret: 'new-secret-value-5678' }, stored)).toEqual({ url: 'https://a.test', secret: 'new-secret-value-5678' });
  });

  it('should keep the placeholder when there is nothing stored at that path (validation then rejects or accepts it as a value)', () => {
    expect(restoreSecrets({ other: { secret: REDACTED } }, stored)).toEqual({ other: { secret: REDACTED } });
  });
});
