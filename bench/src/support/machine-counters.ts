import { readFileSync } from 'node:fs';

import type Redis from 'ioredis';

/** Clock ticks all cores have spent busy, and in all, since boot (Linux /proc/stat, first line). */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal …: idle and iowait are the time no task ran.
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  if (ticks.length < 5 || ticks.some((tick) => !Number.isFinite(tick))) throw new Error('unreadable /proc/stat');
  const total = ticks.reduce((sum, tick) => sum + tick, 0);
  return { busy: total - (ticks[3] ?? 0) - (ticks[4] ?? 0), total };
}

/**
 * The Redis server's own CPU time in ms (`used_cpu_sys` + `used_cpu_user`) and the commands it has executed
 * (`total_commands_processed`, which counts each command a script runs as well as the script's call).
 */
export async function redisServerCounters(redis: Redis): Promise<{ cpuMs: number; commands: number }> {
  const info = String(await redis.call('INFO', 'cpu', 'stats'));
  const field = (name: string) => {
    const value = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1];
    if (value === undefined) throw new Error(`Redis INFO has no ${name}`);
    return Number(value);
  };
  return { cpuMs: (field('used_cpu_sys') + field('used_cpu_user')) * 1000, commands: field('total_commands_processed') };
}
