import { errorShapeProblem, rawHttpExchange } from '@skreaver/testing';

import { bootGateway, createWorld } from './gateway.harness';
import type { BootedGateway, GatewayWorld } from './gateway.harness';

// The services share their HTTP setup (libs/http); agent-api's http-protocol test covers it in depth, this one that
// the gateway, whose socket.io and WebSocket upgrades share the server, answers in the same shape.
describe('ws-gateway at the HTTP protocol level', () => {
  let world: GatewayWorld;
  let gateway: BootedGateway;
  let port: number;

  beforeAll(async () => {
    world = await createWorld('gw-protocol');
    gateway = await bootGateway(world);
    port = Number(new URL(gateway.url).port);
  });

  afterAll(async () => {
    await gateway?.close();
    await world?.cleanup();
  });

  it.each([
    ['an unknown method', 'BREW / HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
    ['a 20 KB header', `GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'header_too_large'],
    ['an unknown route', 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 404, 'not_found'],
  ])('should answer %s in the documented error shape with a request id', async (_label, request, status, code) => {
    expect(errorShapeProblem(await rawHttpExchange(port, request), status, code)).toBeNull();
  });
});
