import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import type { RawCommand, RawReply } from '../raw/raw-protocol';
import { sleep, withTimeout } from './time';

/** A raw baseline server (bench/dist/raw/<script>.js) in its own process, driven over IPC. */
export class RawChild {
  private readonly replies: RawReply[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(script: string, timeoutMs = 15_000): Promise<RawChild> {
    const child = fork(join(__dirname, '..', 'raw', `${script}.js`), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
        const onMessage = (reply: RawReply) => {
          if (reply.ready) {
            child.off('message', onMessage);
            resolve(reply.port ?? 0);
          }
        };
        child.on('message', onMessage);
      }),
      timeoutMs,
      `${script} start`,
    );
    const raw = new RawChild(child, port);
    child.on('message', (reply: RawReply) => {
      raw.replies.push(reply);
      for (const wake of raw.waiters.splice(0)) wake();
    });
    return raw;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('raw child has no pid');
    return this.child.pid;
  }

  /** Sends a command and waits for its `done`. */
  async command(command: RawCommand, timeoutMs: number): Promise<RawReply> {
    this.child.send(command);
    return withTimeout(
      (async () => {
        for (;;) {
          const index = this.replies.findIndex((reply) => reply.done === command.cmd);
          if (index >= 0) return this.replies.splice(index, 1)[0] as RawReply;
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      })(),
      timeoutMs,
      `raw ${command.cmd}`,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await exited;
  }
}
