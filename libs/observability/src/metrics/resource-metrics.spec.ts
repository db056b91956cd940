import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { register } from 'prom-client';

import { registerResourceMetrics, ResourceSampler } from './resource-metrics';
import type { ResourceProbes } from './resource-metrics';

const GiB = 1024 ** 3;

/** Probes with a fake clock, CPU counter and cgroup files. */
function fakeProbes(files: Record<string, string> = {}, overrides: Partial<ResourceProbes> = {}) {
  const state = { cpuMicros: 0, nowMs: 1_000_000 };
  const probes: Partial<ResourceProbes> = {
    cpuUsage: () => ({ user: state.cpuMicros, system: 0 }),
    nowMs: () => state.nowMs,
    rssBytes: () => 300 * 1024 ** 2,
    hostMemoryBytes: () => 16 * GiB,
    hostCores: () => 8,
    readFile: (path) => files[path],
    statfs: () => ({ bsize: 4096, blocks: 1000, bavail: 250 }),
    ...overrides,
  };
  return { state, probes };
}

describe(ResourceSampler.name, () => {
  describe('cpuPercent', () => {
    it('should report CPU since the previous sample as a percentage of the host cores', () => {
      const { state, probes } = fakeProbes();
      const sut = new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes });
      sut.cpuPercent();

      // 2 CPU-seconds in 1 wall second on 8 cores: 25 %.
      state.cpuMicros += 2_000_000;
      state.nowMs += 1_000;

      expect(sut.cpuPercent()).toBe(25);
    });

    it('should measure against the cgroup v2 quota when one is set', () => {
      const { state, probes } = fakeProbes({ '/cg/cpu.max': '200000 100000\n' });
      const sut = new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes });
      sut.cpuPercent();

      state.cpuMicros += 1_500_000;
      state.nowMs += 1_000;

      expect(sut.cores()).toBe(2);
      expect(sut.cpuPercent()).toBe(75);
    });

    it('should measure against the cgroup v1 quota when one is set', () => {
      const { probes } = fakeProbes({ '/cg/cpu/cpu.cfs_quota_us': '50000', '/cg/cpu/cpu.cfs_period_us': '100000' });

      expect(new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes }).cores()).toBe(0.5);
    });

    it('should use the host cores when the quota is unlimited', () => {
      const { probes } = fakeProbes({ '/cg/cpu.max': 'max 100000', '/cg/cpu/cpu.cfs_quota_us': '-1' });

      expect(new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes }).cores()).toBe(8);
    });

    it('should report 0 rather than throw when the CPU counter fails', () => {
      const { probes } = fakeProbes({}, {
        cpuUsage: () => {
          throw new Error('boom');
        },
      });

      expect(new ResourceSampler({ dataDir: '/data', probes }).cpuPercent()).toBe(0);
    });

    it('should give a plausible value for the real process', () => {
      const sut = new ResourceSampler({ dataDir: tmpdir() });

      const percent = sut.cpuPercent();

      expect(percent).toBeGreaterThanOrEqual(0);
      expect(Number.isFinite(percent)).toBe(true);
    });
  });

  describe('memoryTotalBytes', () => {
    it('should be the cgroup v2 memory.max when set', () => {
      const { probes } = fakeProbes({ '/cg/memory.max': `${2 * GiB}\n` });

      expect(new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes }).memoryTotalBytes()).toBe(2 * GiB);
    });

    it('should be host memory when memory.max is "max"', () => {
      const { probes } = fakeProbes({ '/cg/memory.max': 'max\n' });

      expect(new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes }).memoryTotalBytes()).toBe(16 * GiB);
    });

    it('should be the cgroup v1 limit when set', () => {
      const { probes } = fakeProbes({ '/cg/memory/memory.limit_in_bytes': String(GiB) });

      expect(new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes }).memoryTotalBytes()).toBe(GiB);
    });

    it('should be host memory when the cgroup v1 limit is the "unlimited" sentinel', () => {
      const { probes } = fakeProbes({ '/cg/memory/memory.limit_in_bytes': '9223372036854771712' });

      expect(new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes }).memoryTotalBytes()).toBe(16 * GiB);
    });

    it('should be host memory without any cgroup file', () => {
      const { probes } = fakeProbes();

      expect(new ResourceSampler({ dataDir: '/data', cgroupRoot: '/cg', probes }).memoryTotalBytes()).toBe(16 * GiB);
    });
  });

  describe('disk', () => {
    it('should report the data directory file system size and the bytes not available to the service', () => {
      const { probes } = fakeProbes();

      expect(new ResourceSampler({ dataDir: '/data', probes }).disk()).toEqual({ usageBytes: 750 * 4096, totalBytes: 1000 * 4096 });
    });

    it('should be undefined, not throw, when the directory cannot be read', () => {
      const sut = new ResourceSampler({ dataDir: '/definitely/not/here' });

      expect(sut.disk()).toBeUndefined();
    });

    it('should report the files under the directory against the size limit of its volume, not the file system', () => {
      const { probes } = fakeProbes({}, { directoryBytes: () => 300 * 1024 ** 2 });

      expect(new ResourceSampler({ dataDir: '/data', dataDirSizeLimitBytes: GiB, probes }).disk()).toEqual({ usageBytes: 300 * 1024 ** 2, totalBytes: GiB });
    });

    it('should count the bytes a real directory tree holds, against the limit', () => {
      const dir = mkdtempSync(join(tmpdir(), 'skreaver-disk-'));
      try {
        mkdirSync(join(dir, 'sub'));
        writeFileSync(join(dir, 'db.sqlite'), Buffer.alloc(1024 * 1024, 1));
        writeFileSync(join(dir, 'sub', 'wal'), Buffer.alloc(256 * 1024, 1));
        const disk = new ResourceSampler({ dataDir: dir, dataDirSizeLimitBytes: 4 * 1024 * 1024 }).disk();

        expect(disk?.totalBytes).toBe(4 * 1024 * 1024);
        expect(disk?.usageBytes).toBeGreaterThanOrEqual(1024 * 1024 + 256 * 1024);
        expect(disk?.usageBytes).toBeLessThan(2 * 1024 * 1024);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('should be undefined, not throw, when a limited directory cannot be read', () => {
      expect(new ResourceSampler({ dataDir: '/definitely/not/here', dataDirSizeLimitBytes: GiB }).disk()).toBeUndefined();
    });

    it('should read the real file system of an existing directory', () => {
      const disk = new ResourceSampler({ dataDir: tmpdir() }).disk();

      expect(disk?.totalBytes).toBeGreaterThan(0);
      expect(disk?.usageBytes).toBeGreaterThanOrEqual(0);
      expect(disk?.usageBytes).toBeLessThanOrEqual(disk?.totalBytes ?? 0);
    });
  });
});

describe(registerResourceMetrics.name, () => {
  it('should expose the runbook resource metrics, computed on scrape', async () => {
    const { probes } = fakeProbes({ '/cg/memory.max': String(2 * GiB) });
    registerResourceMetrics({ dataDir: '/data', cgroupRoot: '/cg', probes });

    const text = await register.metrics();

    expect(text).toMatch(/^skreaver_cpu_usage_percent \d+(\.\d+)?$/m);
    expect(text).toContain(`skreaver_memory_usage_bytes ${300 * 1024 ** 2}`);
    expect(text).toContain(`skreaver_memory_total_bytes ${2 * GiB}`);
    expect(text).toContain(`skreaver_disk_usage_bytes ${750 * 4096}`);
    expect(text).toContain(`skreaver_disk_total_bytes ${1000 * 4096}`);
  });

  it('should read the sampler registered last, as a second app in the same process does', async () => {
    registerResourceMetrics({ dataDir: '/data', probes: fakeProbes().probes });
    const second = fakeProbes({}, { rssBytes: () => 42 });
    registerResourceMetrics({ dataDir: '/data', probes: second.probes });

    expect(await register.getSingleMetricAsString('skreaver_memory_usage_bytes')).toContain('skreaver_memory_usage_bytes 42');
  });

  it('should keep scraping when the data directory disappears', async () => {
    registerResourceMetrics({ dataDir: '/definitely/not/here' });

    await expect(register.metrics()).resolves.toContain('skreaver_memory_total_bytes');
  });
});
