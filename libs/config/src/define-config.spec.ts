import { z } from 'zod';

import { ConfigError, defineConfig } from './define-config';
import type { EnvShape, Environment } from './define-config';
import { baseEnv, databaseEnv, envBoolean, envInt, envPort } from './env-fields';

function loadError<S extends EnvShape>(shape: S, env: Environment): ConfigError {
  try {
    defineConfig(shape).load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected load() to throw a ConfigError');
}

describe(defineConfig.name, () => {
  it('should expose the shape it was given', () => {
    expect(defineConfig(baseEnv).shape).toBe(baseEnv);
  });

  it('should fill every default when the environment is empty', () => {
    const sut = defineConfig({ ...baseEnv, ...databaseEnv });

    expect(sut.load({})).toEqual({
      NODE_ENV: 'development',
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 'skreaver',
      SHUTDOWN_TIMEOUT_MS: 25_000,
      SKREAVER_ENABLE_PROFILING: false,
      DATABASE_URL: undefined,
      DATABASE_POOL_SIZE: 10,
      SKREAVER_DATA_DIR: './.skreaver',
      SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES: 0,
    });
  });

  it('should parse given values', () => {
    const sut = defineConfig({ ...baseEnv, PORT: envPort(8080) });

    expect(
      sut.load({ NODE_ENV: 'production', PORT: '9000', SHUTDOWN_TIMEOUT_MS: '1000', SKREAVER_ENABLE_PROFILING: 'yes' }),
    ).toMatchObject({ NODE_ENV: 'production', PORT: 9000, SHUTDOWN_TIMEOUT_MS: 1000, SKREAVER_ENABLE_PROFILING: true });
  });

  it('should ignore variables outside its shape', () => {
    expect(defineConfig({ HOST: baseEnv.HOST }).load({ HOST: 'h', PATH: '/usr/bin' })).toEqual({ HOST: 'h' });
  });

  it('should name every bad variable in one ConfigError', () => {
    const error = loadError(
      { ...baseEnv, PORT: envPort(8080) },
      { NODE_ENV: 'staging', REDIS_URL: 'http://cache:6379', PORT: '70000', SHUTDOWN_TIMEOUT_MS: 'soon', HOST: 'ok' },
    );

    expect(error.name).toBe('ConfigError');
    expect(error.problems.map((problem) => problem.split('=')[0]).sort()).toEqual([
      'NODE_ENV',
      'PORT',
      'REDIS_URL',
      'SHUTDOWN_TIMEOUT_MS',
    ]);
    for (const name of ['NODE_ENV', 'PORT', 'REDIS_URL', 'SHUTDOWN_TIMEOUT_MS']) expect(error.message).toContain(`${name}=`);
    expect(error.message).toMatch(/^Invalid environment: /);
  });

  it('should quote the offending value of an ordinary variable together with the reason', () => {
    const error = loadError(baseEnv, { REDIS_URL: 'http://cache:6379' });

    expect(error.problems).toEqual([
      'REDIS_URL="http://cache:6379" (must start with redis://, rediss://, redis-sentinel:// or redis-cluster://)',
    ]);
  });

  it('should shorten long values to 80 characters', () => {
    const error = loadError(baseEnv, { NODE_ENV: 'x'.repeat(200) });

    expect(error.problems[0]).toContain(`NODE_ENV="${'x'.repeat(77)}..."`);
    expect(error.problems[0]).not.toContain('x'.repeat(78));
  });

  it('should report a missing required variable as missing', () => {
    const error = loadError({ WORKER_ID: z.string().min(1) }, {});

    expect(error.problems).toEqual([expect.stringMatching(/^WORKER_ID=<missing> \(/)]);
  });

  it.each(['JWT_SECRET_KEY', 'DATABASE_PASSWORD', 'GITHUB_TOKEN', 'OPENAI_API_KEY', 'TLS_PRIVATE_KEY_PEM', 'jwt_secret'])(
    'should never echo the value of %s',
    (name) => {
      const error = loadError({ [name]: z.string().min(64) }, { [name]: 'hunter2-super-secret' });

      expect(error.message).not.toContain('hunter2');
      expect(error.message).toContain(`${name}=<redacted>`);
    },
  );

  it.each([
    ['REDIS_URL', 'http://admin:hunter2@cache:6379'],
    ['DATABASE_URL', 'mysql://app:hunter2@db:3306/skreaver'],
    ['DATABASE_URL', 'mongodb+srv://app:hunter2@cluster0.example.net/db'],
  ])('should never echo a URL with credentials in %s', (name, value) => {
    const error = loadError({ ...baseEnv, ...databaseEnv }, { [name]: value });

    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain(`${name}=<value with credentials>`);
  });

  it('should treat an empty string as unset, so the default applies', () => {
    const sut = defineConfig(baseEnv);

    expect(sut.load({ HOST: '', SHUTDOWN_TIMEOUT_MS: '', REDIS_URL: '' })).toMatchObject({
      HOST: '0.0.0.0',
      SHUTDOWN_TIMEOUT_MS: 25_000,
      REDIS_URL: 'redis://127.0.0.1:6379',
    });
  });

  it('should report an empty required variable as missing', () => {
    expect(loadError({ WORKER_ID: z.string() }, { WORKER_ID: '' }).problems[0]).toMatch(/^WORKER_ID=<missing>/);
  });

  it('should use RUST_LOG for LOG_LEVEL when LOG_LEVEL is unset', () => {
    expect(defineConfig(baseEnv).load({ RUST_LOG: 'info,skreaver=debug' }).LOG_LEVEL).toBe('debug');
  });

  it('should use RUST_LOG for LOG_LEVEL when LOG_LEVEL is empty', () => {
    expect(defineConfig(baseEnv).load({ LOG_LEVEL: '', RUST_LOG: 'error' }).LOG_LEVEL).toBe('error');
  });

  it('should ignore RUST_LOG when LOG_LEVEL is set', () => {
    expect(defineConfig(baseEnv).load({ LOG_LEVEL: 'warn', RUST_LOG: 'trace' }).LOG_LEVEL).toBe('warn');
  });

  it('should reject an unparseable RUST_LOG under the name LOG_LEVEL', () => {
    const error = loadError(baseEnv, { RUST_LOG: 'chatty' });

    expect(error.problems).toEqual([expect.stringMatching(/^LOG_LEVEL="chatty" \(expected trace\|debug\|info\|warn\|error/)]);
  });
});

describe('baseEnv', () => {
  const sut = defineConfig(baseEnv);

  it.each([
    'redis://cache:6379',
    'rediss://cache:6380/2',
    'redis-sentinel://s1:26379,s2:26379/mymaster',
    'redis-cluster://10.0.0.1:6379,10.0.0.2:6379,[fd00::3]:6379',
    'redis-cluster://app:secret@redis-0.redis:6379?tls=true',
  ])(
    'should accept the REDIS_URL %s',
    (url) => {
      expect(sut.load({ REDIS_URL: url }).REDIS_URL).toBe(url);
    },
  );

  it.each(['http://cache:6379', 'cache:6379', 'REDIS://cache', 'valkey://cache', 'redis-cluster://', 'redis-cluster://a:6379,,b:6379'])(
    'should reject the REDIS_URL %s',
    (url) => {
      expect(loadError(baseEnv, { REDIS_URL: url }).problems[0]).toMatch(/^REDIS_URL=/);
    },
  );

  it('should say that a Redis Cluster has no other database', () => {
    expect(loadError(baseEnv, { REDIS_URL: 'redis-cluster://a:6379?db=2' }).problems).toEqual([
      'REDIS_URL="redis-cluster://a:6379?db=2" (a Redis Cluster has only database 0: remove db=)',
    ]);
  });

  it.each(['TRUE', 'true', '1', 'yes', 'on'])('should read SKREAVER_ENABLE_PROFILING=%s as true', (value) => {
    expect(sut.load({ SKREAVER_ENABLE_PROFILING: value }).SKREAVER_ENABLE_PROFILING).toBe(true);
  });

  it.each(['false', '0', 'no', 'OFF'])('should read SKREAVER_ENABLE_PROFILING=%s as false', (value) => {
    expect(sut.load({ SKREAVER_ENABLE_PROFILING: value }).SKREAVER_ENABLE_PROFILING).toBe(false);
  });

  it('should reject a boolean it cannot read', () => {
    expect(loadError(baseEnv, { SKREAVER_ENABLE_PROFILING: 'maybe' }).problems[0]).toMatch(/^SKREAVER_ENABLE_PROFILING="maybe"/);
  });

  it.each(['has:colon', 'x'.repeat(65), 'spa ce'])('should reject the REDIS_KEY_PREFIX %j', (prefix) => {
    expect(loadError(baseEnv, { REDIS_KEY_PREFIX: prefix }).problems[0]).toMatch(/^REDIS_KEY_PREFIX=/);
  });

  it.each(['-1', '600001', '1.5'])('should reject SHUTDOWN_TIMEOUT_MS=%s', (value) => {
    expect(loadError(baseEnv, { SHUTDOWN_TIMEOUT_MS: value }).problems[0]).toMatch(/^SHUTDOWN_TIMEOUT_MS=/);
  });
});

describe('databaseEnv', () => {
  const sut = defineConfig(databaseEnv);

  it.each(['postgres://db/skreaver', 'postgresql://app@db:5432/skreaver', 'sqlite:./data/skreaver.db'])(
    'should accept the DATABASE_URL %s',
    (url) => {
      expect(sut.load({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    },
  );

  it.each(['mysql://db/skreaver', 'file:./skreaver.db', 'db:5432'])('should reject the DATABASE_URL %s', (url) => {
    expect(loadError(databaseEnv, { DATABASE_URL: url }).problems[0]).toMatch(/^DATABASE_URL=.*must start with postgres/);
  });

  it.each(['0', '1001'])('should reject DATABASE_POOL_SIZE=%s', (value) => {
    expect(loadError(databaseEnv, { DATABASE_POOL_SIZE: value }).problems[0]).toMatch(/^DATABASE_POOL_SIZE=/);
  });
});

describe('env field builders', () => {
  it('should bound envPort to 0–65535', () => {
    const sut = defineConfig({ PORT: envPort(1) });

    expect(sut.load({ PORT: '65535' }).PORT).toBe(65_535);
    expect(sut.load({}).PORT).toBe(1);
    expect(() => sut.load({ PORT: '65536' })).toThrow(ConfigError);
  });

  it('should bound envInt to its min and max', () => {
    const sut = defineConfig({ N: envInt(5, 2, 10) });

    expect(sut.load({ N: '2' }).N).toBe(2);
    expect(() => sut.load({ N: '1' })).toThrow(ConfigError);
    expect(() => sut.load({ N: '11' })).toThrow(ConfigError);
  });

  it('should fall back to the envBoolean default when unset', () => {
    expect(defineConfig({ B: envBoolean(true) }).load({}).B).toBe(true);
  });
});
