import type { Agent, JsonValue } from '@skreaver/contracts';

import { REDACTED, redactAgent } from './agent-secrets';

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

  it("should hide every header value but harmless ones, and credentials in URLs, of a tool agent's steps", () => {
    const headers = { Cookie: 'c-1', 'Set-Cookie': 'sc-2', 'X-Auth': 'xa-3', 'X-Credentials': 'xc-4', 'X-Signature': 'xs-5', 'X-Access-Key': 'xk-6', Accept: 'text/plain' };
    const sut = redactAgent(agentWith({ steps: [{ tool: 'http_request', input: { url: 'https://u:pw-7@api.test/x?access_token=at-8&q=1', headers } }] }));

    expect(sut.config).toEqual({
      steps: [
        {
          tool: 'http_request',
          input: {
            url: `https://u:${REDACTED}@api.test/x?access_token=${REDACTED}&q=1`,
            headers: { Cookie: REDACTED, 'Set-Cookie': REDACTED, 'X-Auth': REDACTED, 'X-Credentials': REDACTED, 'X-Signature': REDACTED, 'X-Access-Key': REDACTED, Accept: 'text/plain' },
          },
        },
      ],
    });
    expect(JSON.stringify(sut)).not.toMatch(/c-1|sc-2|xa-3|xc-4|xs-5|xk-6|pw-7|at-8/);
  });

  it('should leave a null secret as null (nothing to hide, and it tells the client none is set)', () => {
    expect(redactAgent(agentWith({ token: null })).config).toEqual({ token: null });
  });
});
