import { register } from 'prom-client';

import { HttpMetrics } from './http-metrics';

describe(HttpMetrics.name, () => {
  let sut: HttpMetrics;

  beforeEach(() => {
    register.resetMetrics();
    sut = new HttpMetrics();
  });

  it('should count requests by method, route template and status', async () => {
    sut.observe('GET', '/agents/:id', 200, 0.003);
    sut.observe('GET', '/agents/:id', 200, 0.004);
    sut.observe('POST', '/agents', 422, 0.001);

    const text = await register.getSingleMetricAsString('http_requests_total');

    expect(text).toContain('http_requests_total{method="GET",route="/agents/:id",status="200"} 2');
    expect(text).toContain('http_requests_total{method="POST",route="/agents",status="422"} 1');
  });

  it('should record the duration in the histogram buckets', async () => {
    sut.observe('GET', '/health', 200, 0.003);

    const text = await register.getSingleMetricAsString('http_request_duration_seconds');

    expect(text).toContain('http_request_duration_seconds_bucket{le="0.0025",method="GET",route="/health",status="200"} 0');
    expect(text).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health",status="200"} 1');
    expect(text).toContain('http_request_duration_seconds_sum{method="GET",route="/health",status="200"} 0.003');
    expect(text).toContain('http_request_duration_seconds_count{method="GET",route="/health",status="200"} 1');
  });

  it('should share its metrics between instances', async () => {
    new HttpMetrics().observe('GET', '/ready', 503, 0.01);
    sut.observe('GET', '/ready', 503, 0.01);

    expect(await register.getSingleMetricAsString('http_requests_total')).toContain(
      'http_requests_total{method="GET",route="/ready",status="503"} 2',
    );
  });
});
