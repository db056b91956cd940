import { clusterOptions, isClusterUrl, parseRedisClusterUrl, parseRedisUrl, redisOptions } from './redis-connection';

describe(parseRedisUrl.name, () => {
  it('should parse a plain redis URL with defaults', () => {
    expect(parseRedisUrl('redis://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 6379 });
  });

  it('should parse credentials, port and database', () => {
    expect(parseRedisUrl('redis://app:p%40ss@redis.internal:6380/2')).toEqual({
      host: 'redis.internal',
      port: 6380,
      username: 'app',
      password: 'p@ss',
      db: 2,
    });
  });

  it('should parse a password-only URL', () => {
    expect(parseRedisUrl('redis://:secret@localhost:6379')).toEqual({ host: 'localhost', port: 6379, password: 'secret' });
  });

  it('should enable TLS for rediss', () => {
    expect(parseRedisUrl('rediss://cache.example.com:6380')).toEqual({ host: 'cache.example.com', port: 6380, tls: {} });
  });

  it('should strip the brackets of an IPv6 host', () => {
    expect(parseRedisUrl('redis://[::1]:6379')).toMatchObject({ host: '::1', port: 6379 });
  });

  it('should parse a sentinel URL into sentinels and a master name', () => {
    expect(parseRedisUrl('redis-sentinel://s1:26379,s2:26380,s3/mymaster')).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
        { host: 's3', port: 26379 },
      ],
      name: 'mymaster',
    });
  });

  it('should apply sentinel URL credentials to the master and query options to the rest', () => {
    expect(parseRedisUrl('redis-sentinel://:pw@10.0.0.1:26379,[fd00::2]:26379/main?db=3&sentinelPassword=sp&tls=true')).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'fd00::2', port: 26379 },
      ],
      name: 'main',
      password: 'pw',
      db: 3,
      sentinelPassword: 'sp',
      tls: {},
      enableTLSForSentinelMode: true,
    });
  });

  it('should reject a sentinel URL without a master name', () => {
    expect(() => parseRedisUrl('redis-sentinel://s1:26379,s2:26379')).toThrow(/masterName/);
  });

  it('should reject other schemes without echoing credentials', () => {
    expect(() => parseRedisUrl('http://user:hunter2@redis:6379')).toThrow(/unsupported Redis URL scheme/);
    expect(() => parseRedisUrl('http://user:hunter2@redis:6379')).not.toThrow(/hunter2/);
  });

  it('should send a cluster URL to createRedis', () => {
    expect(() => parseRedisUrl('redis-cluster://a:6379')).toThrow(/createRedis/);
  });

  it('should reject a non-numeric database', () => {
    expect(() => parseRedisUrl('redis://localhost/cache')).toThrow(/invalid Redis database/);
  });
});

describe(redisOptions.name, () => {
  it('should let blocking connections wait for Redis', () => {
    expect(redisOptions('redis://localhost', { forBlocking: true }).maxRetriesPerRequest).toBeNull();
  });

  it('should make ordinary connections fail fast while Redis is down', () => {
    const options = redisOptions('redis://localhost', { connectionName: 'agent-api' });
    expect(options).toMatchObject({ maxRetriesPerRequest: 1, enableOfflineQueue: true, connectionName: 'agent-api' });
  });

  it('should fail per-request checks at once and send those of one event-loop turn in one write', () => {
    expect(redisOptions('redis://localhost', { commandTimeoutMs: 250 })).toMatchObject({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      enableAutoPipelining: true,
    });
  });

  it('should reconnect forever with capped backoff', () => {
    const { retryStrategy } = redisOptions('redis://localhost');
    expect([1, 2, 3, 5, 6, 1000].map((times) => retryStrategy?.(times))).toEqual([100, 200, 400, 1600, 2000, 2000]);
  });

  it('should follow a Sentinel failover as soon as the sentinels announce it, and only through Sentinel', () => {
    expect(redisOptions('redis-sentinel://s1:26379,s2:26379/main')).toMatchObject({ name: 'main', failoverDetector: true });
    expect(redisOptions('redis://127.0.0.1:6379')).not.toHaveProperty('failoverDetector');
  });
});

describe(parseRedisClusterUrl.name, () => {
  it('should parse seed nodes with default ports', () => {
    expect(parseRedisClusterUrl('redis-cluster://10.0.0.1:7000,redis-1,[fd00::3]:7002')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-1', port: 6379 },
        { host: 'fd00::3', port: 7002 },
      ],
    });
  });

  it('should apply credentials and TLS to every node', () => {
    expect(parseRedisClusterUrl('redis-cluster://app:p%40ss@a:6379,b:6379/?tls=true')).toEqual({
      nodes: [
        { host: 'a', port: 6379 },
        { host: 'b', port: 6379 },
      ],
      username: 'app',
      password: 'p@ss',
      tls: {},
    });
  });

  it('should refuse a database, which a cluster does not have', () => {
    expect(() => parseRedisClusterUrl('redis-cluster://a:6379?db=1')).toThrow(/database/);
  });

  it('should reject an empty node list without echoing credentials', () => {
    expect(() => parseRedisClusterUrl('redis-cluster://user:hunter2@')).toThrow(/invalid Redis Cluster URL/);
    expect(() => parseRedisClusterUrl('redis-cluster://user:hunter2@')).not.toThrow(/hunter2/);
  });

  it('should tell cluster URLs apart', () => {
    expect([isClusterUrl('redis-cluster://a'), isClusterUrl('REDIS-CLUSTER://a'), isClusterUrl('redis://a')]).toEqual([true, true, false]);
  });
});

describe(clusterOptions.name, () => {
  it('should let blocking connections wait and retry commands across a failover', () => {
    const options = clusterOptions('redis-cluster://a:6379', { forBlocking: true, connectionName: 'worker' });
    expect(options).toMatchObject({ enableOfflineQueue: true, scaleReads: 'master', redisOptions: { maxRetriesPerRequest: null, connectionName: 'worker' } });
    expect((options.maxRedirections ?? 0) * (options.retryDelayOnFailover ?? 0)).toBeGreaterThanOrEqual(5_000);
  });

  it('should fail per-request checks at once', () => {
    expect(clusterOptions('redis-cluster://a:6379', { commandTimeoutMs: 250 })).toMatchObject({
      enableOfflineQueue: false,
      redisOptions: { commandTimeout: 250, maxRetriesPerRequest: 0 },
    });
  });
});
