import { execFile } from 'node:child_process';

// Run in a fresh Node process so that nothing else of the bench's (sockets, timers, heap) is in it: it sleeps on a
// timer `idleMs` at a time for `durationMs` and prints the CPU time it was charged per wake-up, in µs.
const PROBE = `
const [idleMs, durationMs] = process.argv.slice(1).map(Number);
const cpuUs = () => { const used = process.cpuUsage(); return used.user + used.system; };
(async () => {
  const from = cpuUs();
  const until = performance.now() + durationMs;
  let wakes = 0;
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    wakes += 1;
  }
  process.stdout.write(JSON.stringify({ usPerWake: (cpuUs() - from) / wakes }));
})();
`;

/**
 * The CPU time this machine charges an idle Node process each time a timer wakes it after `idleMs` of sleep, in µs;
 * null if the probe failed. On the 2-core VM it was added on: 114 µs after 1 ms asleep, 253 µs after 5 ms (a round
 * trip to Redis in a busy loop of 50 in flight costs the client ~20 µs there).
 */
export function wakeCostUs(idleMs: number, durationMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', PROBE, String(idleMs), String(durationMs)], { timeout: durationMs + 10_000 }, (error, stdout) => {
      if (error) return resolve(null);
      try {
        const { usPerWake } = JSON.parse(stdout) as { usPerWake: number };
        resolve(Number.isFinite(usPerWake) ? usPerWake : null);
      } catch {
        resolve(null);
      }
    });
  });
}
