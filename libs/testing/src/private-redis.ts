import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './free-port';
import { startRedisServer, stopProcess } from './redis-node';

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

  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''];
  if (options.appendfsync) args.push('--appendfsync', options.appendfsync);

  const terminate = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    await stopProcess(running, signal);
  };

  const instance: PrivateRedis = {
    url,
    port,
    async start() {
      child = await startRedisServer(port, args);
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
