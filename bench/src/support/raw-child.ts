import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import type { RawCommand, RawReply } from '../raw/raw-protocol';
import { sleep, withTimeout } from './time';

/** What a child answers: `ready` once started, `done` with the command it finished. */
interface ChildReply {
  ready?: boolean;
  port?: number;
  done?: string;
}

/**
 * A helper process of the bench (a raw baseline server, bench/dist/raw/<script>.js, or a scenario's load generator
 * in bench/dist/<dir>/<script>.js), driven over IPC: commands `{ cmd }` answered by `{ done: cmd }`.
 */
export class RawChild<C extends { cmd: string } = RawCommand, R extends ChildReply = RawReply> {
  private readonly replies: R[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start<C extends { cmd: string } = RawCommand, R extends ChildReply = RawReply>(
    script: string,
    timeoutMs = 15_000,
    dir = 'raw',
  ): Promise<RawChild<C, R>> {
    const child = fork(join(__dirname, '..', dir, `${script}.js`), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
        const onMessage = (reply: R) => {
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
    const raw = new RawChild<C, R>(child, port);
    child.on('message', (reply: R) => {
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
  async command(command: C, timeoutMs: number): Promise<R> {
    this.child.send(command);
    return withTimeout(
      (async () => {
        for (;;) {
          const index = this.replies.findIndex((reply) => reply.done === command.cmd);
          if (index >= 0) return this.replies.splice(index, 1)[0] as R;
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
