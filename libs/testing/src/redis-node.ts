import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

import Redis from 'ioredis';

import { waitFor } from './wait-for';

/** One command on the server at 127.0.0.1:`port` on a throwaway connection (for probes of one node of a private setup). */
export async function redisNodeCall(port: number, ...args: string[]): Promise<unknown> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const [name = '', ...rest] = args;
    return await redis.call(name, ...rest);
  } finally {
    redis.disconnect();
  }
}

/** `redisNodeCall`'s reply as a string (INFO, CLUSTER NODES…). */
export async function redisNodeCommand(port: number, ...args: string[]): Promise<string> {
  return String(await redisNodeCall(port, ...args));
}

/** True when 127.0.0.1:`port` answers PING. */
export async function redisNodeAnswers(port: number): Promise<boolean> {
  try {
    return (await redisNodeCommand(port, 'PING')) === 'PONG';
  } catch {
    return false;
  }
}

/** Sends `signal` to `child` (when still running) and resolves once it has exited. */
export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** redis-server exited as soon as it started: one of its ports was taken (by another test on this machine). */
export class PortTakenError extends Error {
  constructor(port: number) {
    super(`redis-server could not start on port ${port} (taken by another process?)`);
    this.name = 'PortTakenError';
  }
}

/**
 * Spawns `redis-server args` (listening on 127.0.0.1:`port`) and resolves once it answers.
 * @throws PortTakenError when it exits first: it could not bind, a port was taken meanwhile (by another test on this
 * machine), and whatever answers there is not ours.
 */
export async function startRedisServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => (exited = true));
  const outcome = await waitFor(async () => (exited ? 'exited' : (await redisNodeAnswers(port)) && !exited && 'up'), {
    timeoutMs: 10_000,
    what: `redis-server on ${port}`,
  }).catch(async (error: unknown) => {
    await stopProcess(child, 'SIGKILL');
    throw error;
  });
  if (outcome === 'exited') throw new PortTakenError(port);
  return child;
}

/**
 * Runs `start`, and again on new ports (after `reset` has stopped what it started) when a server could not bind a
 * port chosen for it: another process on this machine (tests run in parallel) may take a port between its choice
 * and the bind. Up to 3 attempts; other failures are thrown at once (after `reset`).
 */
export async function startOnFreshPorts(start: () => Promise<void>, reset: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await start();
      return;
    } catch (error) {
      await reset();
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}
