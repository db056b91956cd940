import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

import Redis from 'ioredis';

import { REDIS_URL } from './platform';

/** The machine a run was measured on. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  redis: string;
  commit: string;
  openFilesLimit: string;
}

export async function describeMachine(root: string): Promise<Machine> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let redisVersion = 'unknown';
  try {
    await redis.connect();
    redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
  const run = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return 'unknown';
    }
  };
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : '';
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    redis: redisVersion,
    commit: `${run('git', ['rev-parse', '--short', 'HEAD'])}${dirty}`,
    openFilesLimit: run('sh', ['-c', 'ulimit -n']),
  };
}
