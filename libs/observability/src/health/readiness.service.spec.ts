import { ReadinessService } from './readiness.service';

describe(ReadinessService.name, () => {
  let sut: ReadinessService;

  beforeEach(() => {
    sut = new ReadinessService();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('should be ready with no checks', async () => {
    expect(await sut.report()).toEqual({ status: 'ready', service: 'skreaver', checks: {} });
  });

  it('should report the service name it was given', async () => {
    sut.setServiceName('agent-api');

    expect((await sut.report()).service).toBe('agent-api');
  });

  it('should be ready when every check is up, with their details', async () => {
    sut.register('redis', async () => ({ mode: 'standalone' }));
    sut.register('database', async () => undefined);

    const report = await sut.report();

    expect(report.status).toBe('ready');
    expect(report.checks).toEqual({
      redis: { status: 'up', latency_ms: expect.any(Number), mode: 'standalone' },
      database: { status: 'up', latency_ms: expect.any(Number) },
    });
    expect(report.checks['redis']?.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('should be not ready when one check throws, reporting that check down with its message', async () => {
    sut.register('redis', async () => undefined);
    sut.register('database', async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    });

    const report = await sut.report();

    expect(report.status).toBe('not_ready');
    expect(report.checks['database']).toEqual({
      status: 'down',
      latency_ms: expect.any(Number),
      error: 'connect ECONNREFUSED 127.0.0.1:5432',
    });
    expect(report.checks['redis']?.status).toBe('up');
  });

  it('should stay in rotation as degraded when only a check the pod can serve without is down, and say which', async () => {
    sut.register('redis', async () => undefined);
    sut.register('database', async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    }, { required: false });

    const report = await sut.report();

    expect(report.status).toBe('degraded');
    expect(report.checks['database']).toEqual({ status: 'down', latency_ms: expect.any(Number), error: 'connect ECONNREFUSED 127.0.0.1:5432', required: false });
    expect(report.checks['redis']).toEqual({ status: 'up', latency_ms: expect.any(Number) });
  });

  it('should be not ready when a required check is down, whatever the optional ones say', async () => {
    sut.register('redis', () => Promise.reject(new Error('ECONNREFUSED')));
    sut.register('database', () => Promise.reject(new Error('ECONNREFUSED')), { required: false });

    expect((await sut.report()).status).toBe('not_ready');
  });

  it('should be ready, and mark the optional check, when everything is up', async () => {
    sut.register('database', async () => ({ driver: 'postgres' }), { required: false });

    expect(await sut.report()).toEqual({ status: 'ready', service: 'skreaver', checks: { database: { driver: 'postgres', status: 'up', latency_ms: expect.any(Number), required: false } } });
  });

  it('should be not ready while shutting down even if only optional checks exist', async () => {
    sut.register('database', async () => undefined, { required: false });
    sut.markShuttingDown();

    expect((await sut.report()).status).toBe('not_ready');
  });

  it('should report a rejection that is not an Error by its string form', async () => {
    sut.register('queue', () => Promise.reject('no route to host'));

    expect((await sut.report()).checks['queue']).toMatchObject({ status: 'down', error: 'no route to host' });
  });

  it('should report a check that throws synchronously as down', async () => {
    sut.register('broken', () => {
      throw new Error('not a promise');
    });

    expect((await sut.report()).checks['broken']).toMatchObject({ status: 'down', error: 'not a promise' });
  });

  it('should report a check slower than 2 s as down', async () => {
    jest.useFakeTimers();
    sut.register('redis', () => new Promise<void>(() => undefined));
    sut.register('database', () => new Promise<void>((resolve) => setTimeout(resolve, 1_900)));

    const pending = sut.report();
    await jest.advanceTimersByTimeAsync(2_000);
    const report = await pending;

    expect(report.status).toBe('not_ready');
    expect(report.checks['redis']).toMatchObject({ status: 'down', error: 'timed out after 2000 ms' });
    expect(report.checks['database']?.status).toBe('up');
  });

  it('should replace a check registered under the same name', async () => {
    sut.register('redis', () => Promise.reject(new Error('old')));
    sut.register('redis', async () => undefined);

    expect(await sut.report()).toMatchObject({ status: 'ready', checks: { redis: { status: 'up' } } });
  });

  it('should be not ready once shutting down, even with every check up', async () => {
    sut.register('redis', async () => undefined);

    sut.markShuttingDown();
    const report = await sut.report();

    expect(sut.isShuttingDown).toBe(true);
    expect(report.status).toBe('not_ready');
    expect(report.checks['shutdown']).toEqual({ status: 'down', latency_ms: 0, error: 'shutting down' });
    expect(report.checks['redis']?.status).toBe('up');
  });
});
