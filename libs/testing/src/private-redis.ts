import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { freePort } from './free-port';
import { waitFor } from './wait-for';

/** A redis-server of the test's own, so a test can stop and restart Redis without disturbing other test files. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM) and waits until it is gone. */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL, as a crash or an OOM kill would) and waits until it is gone; no shutdown save. */
  kill(): Promise<void>;
  /** Starts it again on the same port (and data dir: with AOF on, accepted writes survive). */
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Options of `privateRedis`. */
export interface PrivateRedisOptions {
  /**
   * AOF fsync policy; Redis' default is `everysec`, which may lose the last second of acknowledged writes when the
   * server is killed. `always` fsyncs before replying, so every write a client saw acknowledged survives a SIGKILL.
   */
  appendfsync?: 'always' | 'everysec' | 'no';
}

/** Starts `redis-server` (it must be on PATH) on a free loopback port with AOF persistence in a temp dir. */
export async function privateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'skreaver-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const answers = async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  };

  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''];
  if (options.appendfsync) args.push('--appendfsync', options.appendfsync);

  const terminate = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };

  const instance: PrivateRedis = {
    url,
    port,
    async start() {
      const started = spawn('redis-server', args, { stdio: 'ignore' });
      child = started;
      let exited = false;
      started.once('exit', () => (exited = true));
      // A server that exits at once could not bind: the port was taken meanwhile (another test run on this machine
      // picked it while ours was stopped). Then whatever answers there is not ours; say so instead of using it.
      const outcome = await waitFor(async () => (exited ? 'exited' : (await answers()) && !exited && 'up'), {
        timeoutMs: 10_000,
        what: `redis-server on ${port}`,
      });
      if (outcome === 'exited') throw new Error(`redis-server could not start on port ${port} (taken by another process?)`);
    },
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    async cleanup() {
      await instance.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await instance.start();
  return instance;
}
