import { lstatSync, readdirSync, readFileSync, statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';

import { gauge } from './metric-registry';

/** What the sampler reads from the process and the OS; replaceable in tests. */
export interface ResourceProbes {
  /** `process.cpuUsage()`: user and system CPU time, microseconds. */
  cpuUsage(): { user: number; system: number };
  /** A monotonic clock, milliseconds. */
  nowMs(): number;
  /** Resident set size, bytes. */
  rssBytes(): number;
  hostMemoryBytes(): number;
  hostCores(): number;
  /** A small file's text (cgroup limits), or undefined when it is not there. */
  readFile(path: string): string | undefined;
  /** `fs.statfs` of a path: block size, total blocks, blocks available to unprivileged users. */
  statfs(path: string): { bsize: number; blocks: number; bavail: number };
  /** Bytes allocated to the files under a directory (like `du`, as the kubelet measures an emptyDir). */
  directoryBytes(path: string): number;
}

export interface ResourceSamplerOptions {
  /** The directory whose file system `skreaver_disk_*` reports (the service's data directory). */
  dataDir: string;
  /**
   * Size limit of the volume under `dataDir` (an emptyDir `sizeLimit`): when set (> 0), the disk metrics are the bytes
   * in that directory against the limit, not the file system, which such a volume shares with the node.
   */
  dataDirSizeLimitBytes?: number;
  /** Where the cgroup file system is mounted; default `/sys/fs/cgroup`. */
  cgroupRoot?: string;
  probes?: Partial<ResourceProbes>;
}

const defaultProbes: ResourceProbes = {
  cpuUsage: () => process.cpuUsage(),
  nowMs: () => performance.timeOrigin + performance.now(),
  rssBytes: () => process.memoryUsage.rss(),
  hostMemoryBytes: () => totalmem(),
  hostCores: () => availableParallelism(),
  readFile: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  statfs: (path) => statfsSync(path),
  directoryBytes: (path) => directoryBytes(path),
};

/** Walks at most this many entries per scrape: a data directory holds a database file or two, not a tree. */
const MAX_ENTRIES = 10_000;

function directoryBytes(root: string): number {
  let total = 0;
  let seen = 0;
  const pending = [root];
  while (pending.length > 0 && seen < MAX_ENTRIES) {
    const path = pending.pop() as string;
    const stat = lstatSync(path);
    seen++;
    // st_blocks counts 512-byte units actually allocated (a sparse file counts what it uses, as du does).
    total += stat.blocks * 512;
    if (stat.isDirectory()) for (const name of readdirSync(path)) pending.push(join(path, name));
  }
  return total;
}

/**
 * Computes the runbook's resource metrics for this process: CPU as a percentage of the cores it may use (the cgroup
 * CPU quota when one is set, else the host's cores) over the time since the previous sample, resident memory, the
 * memory it may use (the cgroup limit when one is set, else host memory), and the data directory's file system.
 * Every method is cheap (a few small file reads) and never throws.
 */
export class ResourceSampler {
  private readonly probes: ResourceProbes;
  private readonly cgroupRoot: string;
  private last: { cpuMicros: number; atMs: number } | undefined;

  constructor(private readonly options: ResourceSamplerOptions) {
    this.probes = { ...defaultProbes, ...options.probes };
    this.cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
  }

  get dataDir(): string {
    return this.options.dataDir;
  }

  /** CPU used since the previous call (since process start on the first), as % of the cores available. */
  cpuPercent(): number {
    try {
      const usage = this.probes.cpuUsage();
      const cpuMicros = usage.user + usage.system;
      const atMs = this.probes.nowMs();
      const previous = this.last ?? { cpuMicros: 0, atMs: atMs - process.uptime() * 1000 };
      this.last = { cpuMicros, atMs };
      const elapsedMs = atMs - previous.atMs;
      if (elapsedMs <= 0) return 0;
      const percent = ((cpuMicros - previous.cpuMicros) / 1000 / elapsedMs / this.cores()) * 100;
      return Number.isFinite(percent) ? Math.max(0, round(percent)) : 0;
    } catch {
      return 0;
    }
  }

  /** Cores this process may use: the cgroup quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`) or the host's. */
  cores(): number {
    const host = safe(() => this.probes.hostCores(), 1);
    const v2 = this.probes.readFile(join(this.cgroupRoot, 'cpu.max'))?.trim().split(/\s+/);
    let quota: number | undefined;
    if (v2 && v2[0] !== 'max') quota = Number(v2[0]) / Number(v2[1] ?? 100_000);
    if (quota === undefined) {
      const v1Quota = Number(this.probes.readFile(join(this.cgroupRoot, 'cpu', 'cpu.cfs_quota_us'))?.trim());
      const v1Period = Number(this.probes.readFile(join(this.cgroupRoot, 'cpu', 'cpu.cfs_period_us'))?.trim());
      if (v1Quota > 0 && v1Period > 0) quota = v1Quota / v1Period;
    }
    return quota !== undefined && Number.isFinite(quota) && quota > 0 ? Math.min(quota, host) : host;
  }

  memoryUsageBytes(): number {
    return safe(() => this.probes.rssBytes(), 0);
  }

  /** The cgroup memory limit (v2 `memory.max`, v1 `memory.limit_in_bytes`) when set and below host memory, else host memory. */
  memoryTotalBytes(): number {
    const host = safe(() => this.probes.hostMemoryBytes(), 0);
    const candidates = [join(this.cgroupRoot, 'memory.max'), join(this.cgroupRoot, 'memory', 'memory.limit_in_bytes')];
    for (const path of candidates) {
      const text = this.probes.readFile(path)?.trim();
      if (text === undefined || text === '' || text === 'max') continue;
      const limit = Number(text);
      // cgroup v1 reports "no limit" as a huge number; a limit above host memory limits nothing either.
      if (Number.isFinite(limit) && limit > 0 && (host === 0 || limit < host)) return limit;
      if (Number.isFinite(limit)) break;
    }
    return host;
  }

  /**
   * The data volume: with a size limit, the bytes under the data directory and the limit; otherwise the directory's file
   * system (bytes not available to the service, and its size). Undefined when unreadable.
   */
  disk(): { usageBytes: number; totalBytes: number } | undefined {
    const limit = this.options.dataDirSizeLimitBytes ?? 0;
    if (limit > 0) {
      try {
        return { usageBytes: this.probes.directoryBytes(this.options.dataDir), totalBytes: limit };
      } catch {
        return undefined;
      }
    }
    try {
      const { bsize, blocks, bavail } = this.probes.statfs(this.options.dataDir);
      const totalBytes = blocks * bsize;
      return { usageBytes: totalBytes - bavail * bsize, totalBytes };
    } catch {
      return undefined;
    }
  }
}

function safe<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

// prom-client's registry is process-global and collect callbacks are fixed when a gauge is created, so the gauges
// read whichever sampler was registered last (in production: the only one).
let active: ResourceSampler | undefined;

/**
 * Registers `skreaver_cpu_usage_percent`, `skreaver_memory_usage_bytes`, `skreaver_memory_total_bytes`,
 * `skreaver_disk_usage_bytes` and `skreaver_disk_total_bytes`, computed when Prometheus scrapes.
 * @returns the sampler the gauges read.
 */
export function registerResourceMetrics(options: ResourceSamplerOptions): ResourceSampler {
  const sampler = new ResourceSampler(options);
  active = sampler;
  gauge({
    name: 'skreaver_cpu_usage_percent',
    help: 'Process CPU since the previous scrape, % of the cores available to it (cgroup quota, else host cores)',
    collect() {
      if (active) this.set(active.cpuPercent());
    },
  });
  gauge({
    name: 'skreaver_memory_usage_bytes',
    help: 'Resident memory of the process, bytes',
    collect() {
      if (active) this.set(active.memoryUsageBytes());
    },
  });
  gauge({
    name: 'skreaver_memory_total_bytes',
    help: 'Memory the process may use: the cgroup limit when set, else host memory, bytes',
    collect() {
      if (active) this.set(active.memoryTotalBytes());
    },
  });
  gauge({
    name: 'skreaver_disk_usage_bytes',
    help: 'Bytes used on the data volume: the files under the data directory when SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES is set, else its file system',
    collect() {
      const disk = active?.disk();
      if (disk) this.set(disk.usageBytes);
    },
  });
  gauge({
    name: 'skreaver_disk_total_bytes',
    help: 'Size of the data volume, bytes: SKREAVER_DATA_DIR_SIZE_LIMIT_BYTES when set, else the file system size',
    collect() {
      const disk = active?.disk();
      if (disk) this.set(disk.totalBytes);
    },
  });
  return sampler;
}
