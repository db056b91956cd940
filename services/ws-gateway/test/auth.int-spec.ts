import { Streams, WsCloseCode } from '@skreaver/contracts';
import { TokenService, apiKeySubject, parseApiKey } from '@skreaver/auth';
import { waitFor } from '@skreaver/testing';
import { newId } from '@skreaver/util';

import { bootGateway, connectIo, createWorld, metricValue, openWs, refusedIo, runEvent } from './gateway.harness';
import type { BootedGateway, GatewayWorld } from './gateway.harness';

describe('ws-gateway authentication', () => {
  let world: GatewayWorld;
  let gateway: BootedGateway;

  beforeAll(async () => {
    world = await createWorld('gw-auth');
    gateway = await bootGateway(world);
  });

  afterAll(async () => {
    await gateway?.close();
    await world?.cleanup();
  });

  const expiredToken = () =>
    new TokenService({ secret: world.jwtSecret, ttlSeconds: 60, now: () => Date.now() - 3_600_000 }).sign({ subject: 'key:abcdefghij', role: 'admin', tenant_id: 'default' })
      .token;
  const foreignToken = () =>
    new TokenService({ secret: 'another-secret-0123456789-abcdefghijklmnop', ttlSeconds: 60 }).sign({ subject: 'key:abcdefghij', role: 'admin', tenant_id: 'default' })
      .token;

  it('should refuse socket.io connections without a valid credential with connect_error "unauthorized" and its reason', async () => {
    const revoked = world.token();
    await world.denylist.revoke('default', revoked.jti, Date.parse(revoked.expires_at) / 1000);
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'missing'],
      ['not-a-token', 'malformed'],
      [foreignToken(), 'invalid_signature'],
      [expiredToken(), 'expired'],
      [revoked.token, 'revoked'],
      [await world.apiKey({ revoked: true }), 'revoked'],
      [`sk_abcdefghij_${'x'.repeat(43)}`, 'unknown_key'],
    ];
    const before = metricValue(await gateway.metrics(), 'websocket_connections_failed_total{reason="unauthorized"}');
    for (const [token, reason] of cases) {
      const refused = await refusedIo(gateway.url, token);
      expect([token, refused]).toEqual([token, { message: 'unauthorized', data: { code: 'unauthorized', reason, message: expect.any(String) } }]);
    }
    const after = metricValue(await gateway.metrics(), 'websocket_connections_failed_total{reason="unauthorized"}');
    expect(after - before).toBe(cases.length);
  });

  it('should refuse every token of a tenant after revoke-all, and two credentials at once', async () => {
    const token = world.token({ tenant: 'revoked-all' }).token;
    await world.denylist.revokeAllBefore('revoked-all', Date.now() / 1000);
    expect(await refusedIo(gateway.url, token)).toMatchObject({ data: { reason: 'revoked' } });
    expect(await refusedIo(gateway.url, world.token().token, { query: { token: world.token().token } })).toMatchObject({ data: { reason: 'malformed' } });
  });

  it('should accept a token or an API key in auth.token, ?token= or the Authorization header', async () => {
    const key = await world.apiKey({ role: 'viewer' });
    const clients = [
      await connectIo(gateway.url, world.token().token),
      await connectIo(gateway.url, key),
      await connectIo(gateway.url, undefined, { query: { token: world.token().token } }),
      await connectIo(gateway.url, undefined, { extraHeaders: { authorization: `Bearer ${key}` } }),
    ];
    expect(clients.every((client) => client.socket.connected)).toBe(true);
    for (const client of clients) client.socket.close();
  });

  it('should close /ws with 4401 after an error frame when the credential is refused, and serve it with ?token= or a header', async () => {
    for (const options of [{}, { token: 'garbage' }, { token: expiredToken() }, { headers: { 'x-api-key': `sk_abcdefghij_${'y'.repeat(43)}` } }]) {
      const client = await openWs(gateway.url, options);
      expect(await client.closed).toEqual({ code: WsCloseCode.unauthorized, reason: 'unauthorized' });
      expect(client.frames).toEqual([{ type: 'error', code: 'unauthorized', reason: expect.any(String), message: expect.any(String) }]);
    }
    const key = await world.apiKey();
    const accepted: Array<{ token?: string; headers?: Record<string, string> }> = [
      { token: key },
      { token: world.token().token },
      { headers: { authorization: `Bearer ${key}` } },
      { headers: { 'x-api-key': key } },
    ];
    for (const options of accepted) {
      const client = await openWs(gateway.url, options);
      expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
      client.ws.close();
    }
  });

  it('should disconnect a client when its token expires while connected, on both transports', async () => {
    const shortLived = () => world.token({ ttlSeconds: 1 }).token;
    const io = await connectIo(gateway.url, shortLived());
    const ioGone = new Promise((resolve) => io.socket.once('disconnect', resolve));
    const ws = await openWs(gateway.url, { token: shortLived() });
    await expect(ioGone).resolves.toBe('io server disconnect');
    expect(io.errors).toEqual([{ code: 'unauthorized', reason: 'expired', message: expect.any(String) }]);
    expect(await ws.closed).toEqual({ code: WsCloseCode.unauthorized, reason: 'unauthorized' });
  });

  it('should disconnect the sockets of a credential revoked while connected, and only those', async () => {
    const disconnected = (client: { socket: { once(event: 'disconnect', listener: (reason: string) => void): unknown } }) =>
      new Promise<string>((resolve) => client.socket.once('disconnect', resolve));
    // One token on both transports, next to another token of the tenant that must stay connected.
    const revokedToken = world.token();
    const io = await connectIo(gateway.url, revokedToken.token);
    const ws = await openWs(gateway.url, { token: revokedToken.token });
    const bystander = await connectIo(gateway.url, world.token().token);
    const ioGone = disconnected(io);

    await world.denylist.revoke('default', revokedToken.jti, Date.parse(revokedToken.expires_at) / 1000);

    expect(await ioGone).toBe('io server disconnect');
    expect(io.errors).toEqual([{ code: 'unauthorized', reason: 'revoked', message: expect.any(String) }]);
    expect(await ws.closed).toEqual({ code: WsCloseCode.unauthorized, reason: 'unauthorized' });

    // An API key and a token minted from it (same subject) go together; a key of another tenant stays.
    const key = await world.apiKey({ tenant: 'keyed' });
    const subject = apiKeySubject(parseApiKey(key)?.prefix ?? '');
    const minted = new TokenService({ secret: world.jwtSecret, ttlSeconds: 600 }).sign({ subject, role: 'viewer', tenant_id: 'keyed' }).token;
    const byKey = await connectIo(gateway.url, key);
    const byMinted = await connectIo(gateway.url, minted);
    const otherTenant = await connectIo(gateway.url, await world.apiKey({ tenant: 'unrelated' }));
    const keyGone = Promise.all([disconnected(byKey), disconnected(byMinted)]);

    await world.denylist.revokeSubjectBefore('keyed', subject, Date.now() / 1000, 600);

    expect(await keyGone).toEqual(['io server disconnect', 'io server disconnect']);

    // Revoke-all ends the tenant's token connections, not its API key connections.
    const tokenOfAll = await connectIo(gateway.url, world.token({ tenant: 'all-out' }).token);
    const keyOfAll = await connectIo(gateway.url, await world.apiKey({ tenant: 'all-out' }));
    const allGone = disconnected(tokenOfAll);

    await world.denylist.revokeAllBefore('all-out', Date.now() / 1000);

    expect(await allGone).toBe('io server disconnect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect([bystander.socket.connected, otherTenant.socket.connected, keyOfAll.socket.connected]).toEqual([true, true, true]);
    for (const client of [bystander, otherTenant, keyOfAll]) client.socket.close();
  });

  it('should let an API key of another tenant watch only its own tenant', async () => {
    const agent = newId();
    const acme = await connectIo(gateway.url, await world.apiKey({ tenant: 'acme', role: 'viewer' }));
    expect(await acme.subscribe({ agent_id: agent })).toEqual({ ok: true, room: `t:acme:agent:${agent}` });
    await world.producer.publish(Streams.events, runEvent(agent, newId(), 1));
    await world.producer.publish(Streams.events, runEvent(agent, newId(), 1, { tenant_id: 'acme' }));
    await waitFor(() => acme.events.length === 1, { what: "acme's event" });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(acme.events.map((e) => e.tenant_id)).toEqual(['acme']);
    acme.socket.close();
  });
});
