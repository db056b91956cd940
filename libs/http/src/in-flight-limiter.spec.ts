import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';

import { InFlightLimiter } from './in-flight-limiter';

/** A server with a route that answers when released, and one that streams until ended. */
function newTestServer(maxInFlight: number) {
  const sut = new InFlightLimiter({ maxInFlight });
  const fastify: FastifyInstance = Fastify();
  sut.install(fastify);
  const waiting: Array<() => void> = [];
  fastify.get('/slow', async () => {
    await new Promise<void>((resolve) => waiting.push(resolve));
    return { ok: true };
  });
  fastify.get('/health', async () => ({ status: 'ok' }));
  const streams: Array<() => void> = [];
  fastify.get('/stream', async (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream' });
    reply.raw.write(': open\n\n');
    streams.push(() => reply.raw.end());
  });
  const releaseAll = () => waiting.splice(0).forEach((resolve) => resolve());
  return { sut, fastify, releaseAll, waiting, streams };
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe(InFlightLimiter.name, () => {
  it('should refuse requests beyond the cap with 503 and Retry-After: 1, and admit again once one is answered', async () => {
    const { sut, fastify, releaseAll, waiting } = newTestServer(2);
    const held = [fastify.inject('/slow'), fastify.inject('/slow')];
    await until(() => waiting.length === 2);

    const refused = await fastify.inject('/slow');

    expect(sut.inFlight).toBe(2);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    releaseAll();
    expect((await Promise.all(held)).map((answer) => answer.statusCode)).toEqual([200, 200]);
    expect(sut.inFlight).toBe(0);
    const admitted = fastify.inject('/slow');
    await until(() => waiting.length === 1);
    releaseAll();
    expect((await admitted).statusCode).toBe(200);
    await fastify.close();
  });

  it('should neither count nor refuse the probes', async () => {
    const { sut, fastify, releaseAll, waiting } = newTestServer(1);
    const held = fastify.inject('/slow');
    await until(() => waiting.length === 1);

    expect((await fastify.inject('/health')).statusCode).toBe(200);
    expect(sut.inFlight).toBe(1);
    releaseAll();
    await held;
    await fastify.close();
  });

  it('should release a streamed response once its head is written', async () => {
    const { sut, fastify, streams } = newTestServer(1);
    const open = fastify.inject('/stream');
    await until(() => streams.length === 1);

    expect(sut.inFlight).toBe(0);
    expect((await fastify.inject('/health')).statusCode).toBe(200);
    streams.forEach((end) => end());
    expect((await open).statusCode).toBe(200);
    await fastify.close();
  });

  it('should do nothing with a cap of 0', async () => {
    const { sut, fastify, releaseAll, waiting } = newTestServer(0);
    const held = [fastify.inject('/slow'), fastify.inject('/slow'), fastify.inject('/slow')];
    await until(() => waiting.length === 3);

    expect(sut.inFlight).toBe(0);
    releaseAll();
    expect((await Promise.all(held)).map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    await fastify.close();
  });
});
