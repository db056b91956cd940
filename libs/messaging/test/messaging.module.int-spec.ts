import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Streams, streamKey } from '@skreaver/contracts';
import { isolatedRedis } from '@skreaver/testing';
import type { RedisClient } from '../src';

import {
  MESSAGING_OPTIONS,
  MessagingModule,
  type MessagingOptions,
  REDIS,
  RedisConnections,
  RedisHealth,
  RunEventLog,
  StreamProducer,
  StreamReader,
} from '../src';
import { runQueuedEvent } from './fixtures';

const isolated = isolatedRedis('messaging-module');

/** A feature module's service, as services write them: its module imports MessagingModule. */
@Injectable()
class FeatureService {
  constructor(
    readonly producer: StreamProducer,
    readonly reader: StreamReader,
    readonly connections: RedisConnections,
    @Inject(REDIS) readonly redis: RedisClient,
    @Inject(MESSAGING_OPTIONS) readonly options: MessagingOptions,
  ) {}
}

@Module({ imports: [MessagingModule], providers: [FeatureService] })
class FeatureModule {}

@Injectable()
class OtherFeatureService {
  constructor(readonly connections: RedisConnections) {}
}

@Module({ imports: [MessagingModule], providers: [OtherFeatureService] })
class OtherFeatureModule {}

// Not global: a module that does not import MessagingModule cannot inject its providers.
@Module({ providers: [OtherFeatureService] })
class ForgetfulFeatureModule {}

describe(MessagingModule.name, () => {
  afterAll(() => isolated.cleanup());

  function compile(...features: unknown[]) {
    return Test.createTestingModule({
      imports: [MessagingModule.forRoot({ url: isolated.url, keyPrefix: isolated.prefix, connectionName: 'messaging-module-test' }), ...(features as [])],
    }).compile();
  }

  async function boot() {
    return (await compile(MessagingModule, FeatureModule, OtherFeatureModule)).init();
  }

  it('should give every importing module the one set of connections', async () => {
    const app = await boot();
    try {
      expect(app.get(OtherFeatureService).connections).toBe(app.get(FeatureService).connections);
      expect(app.get(FeatureService).connections).toBe(app.get(RedisConnections));
    } finally {
      await app.close();
    }
  });

  it('should refuse to boot a module that injects a messaging provider without importing MessagingModule', async () => {
    // Without MessagingModule anywhere, so that the failed boot leaves no connection open.
    await expect(compile(ForgetfulFeatureModule)).rejects.toThrow(/RedisConnections/);
  });

  it('should provide the messaging services to feature modules and close every connection on shutdown', async () => {
    const app = await boot();
    const feature = app.get(FeatureService);
    const blocking = feature.connections.blocking('tailer');
    try {
      expect(feature.options).toEqual({ url: isolated.url, keyPrefix: isolated.prefix, connectionName: 'messaging-module-test' });
      const event = runQueuedEvent();
      const id = await feature.producer.publish(Streams.events, event);
      expect(await feature.reader.last(Streams.events)).toEqual({ id, payload: event });
      expect(await blocking.client('GETNAME')).toBe('messaging-module-test:tailer');
      expect(await feature.redis.client('GETNAME')).toBe('messaging-module-test');
    } finally {
      await app.close();
    }
    expect(feature.redis.status).toBe('end');
    expect(blocking.status).toBe('end');
  });

  it('should report Redis latency from RedisHealth', async () => {
    const app = await boot();
    try {
      const { latency_ms } = await app.get(RedisHealth).check();
      expect(latency_ms).toBeGreaterThanOrEqual(0);
      expect(latency_ms).toBeLessThan(1_000);
    } finally {
      await app.close();
    }
  });

  it('should close a connection still blocked in a read on shutdown', async () => {
    const app = await boot();
    const blocking = app.get(RedisConnections).blocking('blocked');
    const read = blocking.xread('BLOCK', 10_000, 'STREAMS', `${isolated.prefix}:idle`, '$').catch(() => null);
    const started = Date.now();
    await app.close();
    await read;
    expect(blocking.status).toBe('end');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('should trim the global event stream to eventsStreamMaxLen and leave each run log whole', async () => {
    const keyPrefix = `${isolated.prefix}:capped`;
    const app = await Test.createTestingModule({
      imports: [MessagingModule.forRoot({ url: isolated.url, keyPrefix, connectionName: 'messaging-module-test', eventsStreamMaxLen: 10 }), MessagingModule],
    }).compile();
    await app.init();
    try {
      const log = app.get(RunEventLog);
      const first = runQueuedEvent(1);
      for (let seq = 1; seq <= 300; seq += 1) await log.append(runQueuedEvent(seq, first.run_id, first.agent_id));
      const redis = app.get<RedisClient>(REDIS);
      // MAXLEN ~ trims whole stream nodes: the stream keeps at least 10 entries and a node's worth more at most.
      expect(await redis.xlen(streamKey(Streams.events, keyPrefix))).toBeLessThan(300);
      expect(await redis.xlen(streamKey(Streams.runEvents, keyPrefix, first.run_id))).toBe(300);
    } finally {
      await app.close();
    }
  });
});

