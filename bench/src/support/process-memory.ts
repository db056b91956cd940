import { readFileSync } from 'node:fs';

/** Resident set size of process `pid` in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!match?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

// /proc/<pid>/stat counts CPU time in clock ticks; 100 per second on every Linux this runs on (getconf CLK_TCK).
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) process `pid` has used so far, in ms (Linux /proc; 10 ms resolution). */
export function cpuMsOf(pid: number): number {
  const { userMs, systemMs } = cpuSplitOf(pid);
  return userMs + systemMs;
}

/** CPU time process `pid` has used so far in user space and in the kernel (system calls, its sockets' TCP work), ms. */
export function cpuSplitOf(pid: number): { userMs: number; systemMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, hence the last ')'): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [user, system] = [Number(fields[11]), Number(fields[12])];
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error(`no CPU times for pid ${pid}`);
  return { userMs: (user * 1000) / CLOCK_TICKS_PER_SECOND, systemMs: (system * 1000) / CLOCK_TICKS_PER_SECOND };
}

/**
 * Read and write system calls process `pid` (all its threads) has made so far (Linux /proc/<pid>/io `syscr`, `syscw`):
 * socket reads and writes, mostly, so per run it counts round trips and how well they are batched, without the noise
 * of a shared machine's CPU times.
 */
export function syscallsOf(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const read = /^syscr:\s+(\d+)/m.exec(io)?.[1];
  const write = /^syscw:\s+(\d+)/m.exec(io)?.[1];
  if (read === undefined || write === undefined) throw new Error(`no syscall counts for pid ${pid}`);
  return Number(read) + Number(write);
}

/**
 * How many times the main thread of process `pid` has gone to sleep and been woken since it started (Linux
 * /proc/<pid>/task/<pid>/status `voluntary_ctxt_switches`): an event loop sleeps once per turn that found nothing to
 * do, so per run it counts the turns that waited for I/O, each paying a wake-up.
 */
export function wakeupsOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  const switches = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1];
  if (switches === undefined) throw new Error(`no context switch count for pid ${pid}`);
  return Number(switches);
}
