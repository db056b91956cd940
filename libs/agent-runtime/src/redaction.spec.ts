import type { JsonValue } from '@skreaver/contracts';

import { REDACTED, isHarmlessHeader, redactHeaders, redactSecrets, redactUrl, restoreSecrets } from './redaction';

describe(isHarmlessHeader.name, () => {
  it.each([
    'accept',
    'Accept',
    'ACCEPT-LANGUAGE',
    'accept-encoding',
    'Content-Type',
    'content-language',
    'User-Agent',
    'cache-control',
    'If-None-Match',
    'if-modified-since',
  ])('should let %s be shown', (name) => {
    expect(isHarmlessHeader(name)).toBe(true);
  });

  it.each([
    'Authorization',
    'Proxy-Authorization',
    'Cookie',
    'Set-Cookie',
    'X-Auth',
    'X-Credentials',
    'X-Signature',
    'X-Access-Key',
    'X-Api-Key',
    'X-Amz-Security-Token',
    'X-Hub-Signature-256',
    'Private-Token',
    'X-Anything-Else',
    'Referer',
  ])('should keep %s write-only (masked unless allow-listed)', (name) => {
    expect(isHarmlessHeader(name)).toBe(false);
  });
});

describe(redactHeaders.name, () => {
  it('should mask every value but the harmless ones, keeping the names as written', () => {
    expect(redactHeaders({ 'X-Auth': 'a', Accept: 'application/json', Cookie: 'sid=1', 'content-type': 'text/plain' })).toEqual({
      'X-Auth': REDACTED,
      Accept: 'application/json',
      Cookie: REDACTED,
      'content-type': 'text/plain',
    });
  });
});

describe(redactUrl.name, () => {
  it.each([
    ['https://api.example.test/v1', 'https://api.example.test/v1'],
    ['https://api.example.test/v1?page=2&q=cats', 'https://api.example.test/v1?page=2&q=cats'],
    ['https://user:pa55@api.example.test/v1', 'https://user:[redacted]@api.example.test/v1'],
    ['https://ghp_token123@github.test/repo.git', 'https://[redacted]@github.test/repo.git'],
    ['https://api.example.test/x?access_token=abc&page=2', 'https://api.example.test/x?access_token=[redacted]&page=2'],
    ['https://api.example.test/x?token=abc', 'https://api.example.test/x?token=[redacted]'],
    ['https://api.example.test/x?api_key=abc', 'https://api.example.test/x?api_key=[redacted]'],
    ['https://api.example.test/x?apikey=abc', 'https://api.example.test/x?apikey=[redacted]'],
    ['https://api.example.test/x?key=abc', 'https://api.example.test/x?key=[redacted]'],
    ['https://api.example.test/x?client_secret=abc', 'https://api.example.test/x?client_secret=[redacted]'],
    ['https://api.example.test/x?password=abc', 'https://api.example.test/x?password=[redacted]'],
    ['https://api.example.test/x?sig=abc&se=2030', 'https://api.example.test/x?sig=[redacted]&se=2030'],
    ['https://api.example.test/x?X-Amz-Signature=abc&X-Amz-Credential=def', 'https://api.example.test/x?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]'],
    ['https://api.example.test/x?auth=abc', 'https://api.example.test/x?auth=[redacted]'],
    ['https://api.example.test/x?Access%5Ftoken=abc', 'https://api.example.test/x?Access%5Ftoken=[redacted]'],
    ['https://app.example.test/cb#access_token=abc&state=s', 'https://app.example.test/cb#access_token=[redacted]&state=s'],
    ['https://api.example.test/{{input.path}}?token={{input.token}}', 'https://api.example.test/{{input.path}}?token=[redacted]'],
    ['https://{{input.host}}/x?key=abc', 'https://{{input.host}}/x?key=[redacted]'],
  ])('should show %s as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it('should be idempotent (a shown URL shows the same)', () => {
    const once = redactUrl('https://u:p@api.example.test/x?token=abc');
    expect(redactUrl(once)).toBe(once);
  });
});

describe(redactSecrets.name, () => {
  it.each<[string, JsonValue, JsonValue]>([
    ['a secret-named key', { secret: 's', url: 'https://a.test' }, { secret: REDACTED, url: 'https://a.test' }],
    ['an api_key at depth', { llm: { api_key: 'k', model: 'm' } }, { llm: { api_key: REDACTED, model: 'm' } }],
    ['a credentials object as a whole', { credentials: { user: 'u', pass: 'p' } }, { credentials: REDACTED }],
    ['a count named like a secret (not a credential)', { max_tokens: 100, use_token: true }, { max_tokens: 100, use_token: true }],
    ['a null secret (it tells the client none is set)', { token: null }, { token: null }],
    [
      'header values but the harmless ones',
      { input: { headers: { Cookie: 'c', 'Set-Cookie': 's', 'X-Auth': 'x', Accept: 'text/plain' } } },
      { input: { headers: { Cookie: REDACTED, 'Set-Cookie': REDACTED, 'X-Auth': REDACTED, Accept: 'text/plain' } } },
    ],
    ['headers given as a list of objects', { headers: [{ 'X-Credentials': 'c' }, { 'User-Agent': 'ua' }] }, { headers: [{ 'X-Credentials': REDACTED }, { 'User-Agent': 'ua' }] }],
    ['credentials in URL strings', { base_url: 'https://u:p@m.test/v1?key=k' }, { base_url: 'https://u:[redacted]@m.test/v1?key=[redacted]' }],
    ['plain values', { text: 'hello', n: 1, list: ['a', null] }, { text: 'hello', n: 1, list: ['a', null] }],
  ])('should mask %s', (_label, value, shown) => {
    expect(redactSecrets(value)).toEqual(shown);
  });
});

describe(restoreSecrets.name, () => {
  it('should restore what the client sent back as shown, when the destination is unchanged', () => {
    const stored: JsonValue = { url: 'https://a.test/hook?token=t1', secret: 'old-secret-value-1234', headers: { 'X-Auth': 'xa' }, timeout_ms: 1 };
    const next = { ...(redactSecrets(stored) as Record<string, JsonValue>), timeout_ms: 2 };

    expect(restoreSecrets(next, stored)).toEqual({ value: { ...stored, timeout_ms: 2 }, dropped: [] });
  });

  it('should take a new secret when the client sends one, whatever the destination', () => {
    const stored: JsonValue = { url: 'https://a.test', secret: 'old-secret-value-1234' };

    expect(restoreSecrets({ url: 'https://b.test', secret: 'new-secret-value-5678' }, stored)).toEqual({
      value: { url: 'https://b.test', secret: 'new-secret-value-5678' },
      dropped: [],
    });
  });

  it.each<[string, JsonValue, JsonValue, Array<{ path: Array<string | number>; destination: Array<string | number> }>]>([
    [
      'a webhook secret when the url changes',
      { url: 'https://a.test/hook', secret: 'old-secret-value-1234' },
      { url: 'https://evil.test/hook', secret: REDACTED },
      [{ path: ['secret'], destination: ['url'] }],
    ],
    [
      'a webhook secret when only the path changes (another tenant of a shared host)',
      { url: 'https://hooks.test/a', secret: 'old-secret-value-1234' },
      { url: 'https://hooks.test/b', secret: REDACTED },
      [{ path: ['secret'], destination: ['url'] }],
    ],
    ['an llm api_key when base_url is added', { model: 'm', api_key: 'k' }, { model: 'm', base_url: 'https://evil.test/v1', api_key: REDACTED }, [{ path: ['api_key'], destination: ['base_url'] }]],
    [
      "a step's header when the step's url changes",
      { steps: [{ tool: 'http_request', input: { url: 'https://a.test', headers: { 'X-Auth': 'xa' } } }] },
      { steps: [{ tool: 'http_request', input: { url: 'https://evil.test', headers: { 'X-Auth': REDACTED } } }] },
      [{ path: ['steps', 0, 'input', 'headers', 'X-Auth'], destination: ['steps', 0, 'input', 'url'] }],
    ],
    [
      "a step's header when the step's tool changes",
      { steps: [{ tool: 'http_request', input: { url: 'https://a.test', headers: { 'X-Auth': 'xa' } } }] },
      { steps: [{ tool: 'mesh_send', input: { url: 'https://a.test', headers: { 'X-Auth': REDACTED } } }] },
      [{ path: ['steps', 0, 'input', 'headers', 'X-Auth'], destination: ['steps', 0, 'tool'] }],
    ],
  ])('should drop %s', (_label, stored, next, dropped) => {
    const sut = restoreSecrets(next, stored);

    expect(sut.dropped).toEqual(dropped);
    expect(JSON.stringify(sut.value)).not.toMatch(/old-secret|"k"|xa|\[redacted\]/);
  });

  it('should match steps one by one: a moved step loses its secret headers, the others keep theirs', () => {
    const step = (url: string, auth: string) => ({ tool: 'http_request', input: { url, headers: { 'X-Auth': auth, Accept: 'text/plain' } } });
    const stored: JsonValue = { steps: [step('https://a.test', 'one'), step('https://b.test', 'two')] };

    const sut = restoreSecrets({ steps: [step('https://a.test', REDACTED), step('https://evil.test', REDACTED)] }, stored);

    expect(sut.value).toEqual({
      steps: [step('https://a.test', 'one'), { tool: 'http_request', input: { url: 'https://evil.test', headers: { Accept: 'text/plain' } } }],
    });
    expect(sut.dropped).toEqual([{ path: ['steps', 1, 'input', 'headers', 'X-Auth'], destination: ['steps', 1, 'input', 'url'] }]);
  });

  it('should keep a URL credential the client sent back as shown, and not count it as a changed destination', () => {
    const stored: JsonValue = { base_url: 'https://m.test/v1?key=k1', api_key: 'k2' };

    expect(restoreSecrets(redactSecrets(stored), stored)).toEqual({ value: stored, dropped: [] });
  });

  it('should keep the placeholder where nothing was masked at that path (validation then rejects or accepts it as a value)', () => {
    expect(restoreSecrets({ other: { secret: REDACTED } }, { url: 'https://a.test' })).toEqual({ value: { other: { secret: REDACTED } }, dropped: [] });
  });
});
