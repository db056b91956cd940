import { register } from 'prom-client';

import { counter, ensureDefaultMetrics, gauge, histogram } from './metric-registry';

describe(counter.name, () => {
  it('should return the same counter for the same name', () => {
    const first = counter({ name: 'test_jobs_total', help: 'jobs', labelNames: ['queue'] });
    const second = counter({ name: 'test_jobs_total', help: 'jobs', labelNames: ['queue'] });

    expect(second).toBe(first);
    expect(register.getSingleMetric('test_jobs_total')).toBe(first);
  });

  it('should return different counters for different names', () => {
    expect(counter({ name: 'test_a_total', help: 'a' })).not.toBe(counter({ name: 'test_b_total', help: 'b' }));
  });
});

describe(gauge.name, () => {
  it('should return the same gauge for the same name', async () => {
    const first = gauge({ name: 'test_active', help: 'active' });
    first.set(3);

    const second = gauge({ name: 'test_active', help: 'active' });

    expect(second).toBe(first);
    expect((await second.get()).values[0]?.value).toBe(3);
  });
});

describe(histogram.name, () => {
  it('should return the same histogram for the same name', () => {
    const first = histogram({ name: 'test_latency_seconds', help: 'latency', buckets: [1] });

    expect(histogram({ name: 'test_latency_seconds', help: 'latency', buckets: [1] })).toBe(first);
  });
});

describe(ensureDefaultMetrics.name, () => {
  it('should register the process metrics once, however often it is called', () => {
    ensureDefaultMetrics();
    const cpu = register.getSingleMetric('process_cpu_user_seconds_total');

    expect(() => ensureDefaultMetrics()).not.toThrow();
    expect(cpu).toBeDefined();
    expect(register.getSingleMetric('process_cpu_user_seconds_total')).toBe(cpu);
  });
});
