import { Logger } from '@nestjs/common';

import { closeSync, openSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** When the WAL of a SQLite file is copied back into the database, off the event loop. */
export interface SqliteCheckpointOptions {
  /** How often the worker looks at the WAL (ms). */
  intervalMs: number;
  /** Frames in the WAL from which a tick checkpoints (SQLite's autocheckpoint uses 1,000). */
  checkpointFrames: number;
  /** WAL content above which a tick adds a RESTART checkpoint (waits for writers and readers, so the WAL starts over). */
  walLimitBytes: number;
  /** How long a RESTART checkpoint waits for other connections' locks before it gives up until the next tick. */
  busyTimeoutMs: number;
}

/** One checkpoint as SQLite reported it (`PRAGMA wal_checkpoint`): frames in the WAL and frames copied back. */
export interface SqliteCheckpointResult {
  mode: 'PASSIVE' | 'RESTART';
  /** 1 when the checkpoint could not finish (another checkpointer, or a RESTART that timed out waiting for locks). */
  busy: number;
  /** Frames in the WAL (-1 when busy). */
  log: number;
  /** Frames of the WAL now in the database file (-1 when busy). */
  checkpointed: number;
  /** Whether the worker's own write then started the WAL over (see the class comment). */
  startedOver: boolean;
  /** Time the tick took, in the worker. */
  ms: number;
}

type WorkerMessage = { type: 'checkpoint'; result: SqliteCheckpointResult } | { type: 'error'; message: string };

// Plain CommonJS run by the worker thread: it cannot be a module of the build (swc emits no separate worker entry),
// and it only needs the driver, whose resolved path the owner hands over so the worker finds the same copy.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readSync } = require('node:fs');
const { endianness } = require('node:os');
const Database = require(workerData.driverPath);
const { file, shmFd, intervalMs, checkpointFrames, walLimitBytes, busyTimeoutMs } = workerData;
const db = new Database(file, { fileMustExist: true, timeout: busyTimeoutMs });
db.pragma('wal_autocheckpoint = 0');
const frameBytes = db.pragma('page_size', { simple: true }) + 24;
// The wal-index header (https://www.sqlite.org/walformat.html): mxFrame, the frames in the WAL, at byte 16 of the
// -shm file, in native byte order. Read without a lock: a torn read only moves a checkpoint by one tick. Read through
// the descriptor the owner holds open, never one opened here: see SqliteSharedMemory for why.
const header = Buffer.alloc(20);
function framesInWal() {
  try {
    return readSync(shmFd, header, 0, 20, 0) === 20 ? (endianness() === 'LE' ? header.readUInt32LE(16) : header.readUInt32BE(16)) : 0;
  } catch {
    return 0;
  }
}
// Rewrites a header field nobody uses with its own value: the smallest write transaction there is.
const startOver = () => db.pragma('application_id = ' + db.pragma('application_id', { simple: true }));
function tick() {
  if (framesInWal() < checkpointFrames) return;
  const started = performance.now();
  try {
    let mode = 'PASSIVE';
    let [row] = db.pragma('wal_checkpoint(PASSIVE)');
    if (!row.busy && row.log * frameBytes > walLimitBytes) {
      mode = 'RESTART';
      [row] = db.pragma('wal_checkpoint(RESTART)');
    }
    let startedOver = false;
    if (!row.busy && row.log > 0 && row.checkpointed === row.log) {
      startOver();
      startedOver = true;
    }
    const result = { mode, busy: row.busy, log: row.log, checkpointed: row.checkpointed, startedOver, ms: performance.now() - started };
    parentPort.postMessage({ type: 'checkpoint', result });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String((error && error.message) || error) });
  }
}
const timer = setInterval(tick, intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

const logger = new Logger('SqliteWalCheckpointer');

/**
 * The descriptor of each SQLite file's `-shm` (wal-index) that this process reads the WAL's frame count from, and how
 * many of our connections are open on the file.
 *
 * POSIX record locks belong to a process and a file, not to a descriptor: closing *any* descriptor of the `-shm`
 * drops every lock the process holds on it, SQLite's WAL read marks included (SQLite's "How To Corrupt An SQLite
 * Database File", 2.2). Another process's checkpoint then sees no reader on the WAL, restarts it and overwrites the
 * frames an open read transaction here still uses: that reader gets `database disk image is malformed`
 * (libs/persistence/test/sqlite-shared-memory-locks.int-spec.ts shows it). The checkpointer opened and closed the
 * `-shm` every tick and did exactly that under load. So a descriptor is opened once per file and closed only when no
 * connection of ours to the file is left: the data sources `retain` the file before their connection opens and
 * `release` it after it has closed, and a checkpointer's worker, whose connection lives inside its data source's,
 * reads through the shared descriptor. (A connection to the same file opened by other code in this process is not
 * counted: none is opened outside `createDataSource` but by tests.)
 */
export class SqliteSharedMemory {
  private static readonly files = new Map<string, { users: number; fd: number | undefined }>();

  /** Counts one more connection of ours to `file` (call before it opens). */
  static retain(file: string): void {
    const entry = this.files.get(file);
    if (entry) entry.users += 1;
    else this.files.set(file, { users: 1, fd: undefined });
  }

  /** Counts one connection of ours to `file` closed (call after it closed); the last one closes the descriptor. */
  static release(file: string): void {
    const entry = this.files.get(file);
    if (!entry) return;
    entry.users -= 1;
    if (entry.users > 0) return;
    this.files.delete(file);
    if (entry.fd !== undefined) closeSync(entry.fd);
  }

  /**
   * A read-only descriptor of `file`'s `-shm`, opened on first use and kept until the last `release`; undefined when
   * the file is not retained or has no `-shm` yet (it appears with the first read of a connection in WAL mode).
   */
  static descriptor(file: string): number | undefined {
    const entry = this.files.get(file);
    if (!entry) return undefined;
    if (entry.fd === undefined) {
      try {
        entry.fd = openSync(`${file}-shm`, 'r');
      } catch {
        return undefined;
      }
    }
    return entry.fd;
  }
}

/**
 * Checkpoints a SQLite file in WAL mode from a worker thread with its own connection, so the services' connections
 * can run with `wal_autocheckpoint = 0`. SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL
 * pages: it copies the pages back and fsyncs the WAL and the database, milliseconds during which the event loop is
 * blocked (a tail of the run path, issue 17). The worker looks at the WAL every `intervalMs` and, from
 * `checkpointFrames` frames on, checkpoints PASSIVE (never waits for, never blocks other connections).
 *
 * Whoever writes the first frame of a WAL that starts over fsyncs the WAL header (at synchronous=NORMAL too: an
 * out-of-order write after a restart could corrupt the database otherwise). Left to the services, that is an fsync on
 * an event loop after every complete checkpoint: measured, checkpointing every 250 ms that way made the event loops
 * fsync more often than SQLite's own checkpoint did. So the worker checkpoints only as often as SQLite would, and right
 * after a checkpoint that copied every frame back it writes once itself (the `application_id` header field, rewritten
 * with its own value; nobody uses it) to start the WAL over and pay that fsync in its thread. A service commit that
 * comes in between starts it over instead, as it always did.
 *
 * When a steady stream of commits keeps every checkpoint from completing and the WAL holds more than
 * `walLimitBytes`, the tick adds a RESTART checkpoint: it holds writers off while it copies the frames since its
 * PASSIVE and waits for readers (at most `busyTimeoutMs`). The file thus stays near `walLimitBytes` (reused, not shrunk).
 *
 * When the worker dies, `onFailure` runs so the owner can hand checkpoints back to SQLite.
 */
export class SqliteWalCheckpointer {
  private readonly worker: Worker;
  private readonly listeners = new Set<(result: SqliteCheckpointResult) => void>();
  private stopping = false;
  private exited: Promise<void>;

  private constructor(file: string, shmFd: number, options: SqliteCheckpointOptions, onFailure: (reason: string) => void) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ...options, file, shmFd, driverPath: require.resolve('better-sqlite3') },
    });
    // A checkpointer must never keep a process alive that is otherwise done.
    this.worker.unref();
    this.worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'error') {
        logger.warn(`checkpoint of ${file} failed: ${message.message}`);
        return;
      }
      if (message.result.mode === 'RESTART' && message.result.busy) {
        logger.warn(`WAL of ${file} over ${options.walLimitBytes} bytes and the RESTART checkpoint found it busy: retried next tick`);
      }
      for (const listener of this.listeners) listener(message.result);
    });
    this.worker.on('error', (error) => logger.error(`checkpointer of ${file} crashed: ${error.message}`));
    this.exited = new Promise((resolve) =>
      this.worker.once('exit', (code) => {
        if (!this.stopping) onFailure(`worker exited with code ${code}`);
        resolve();
      }),
    );
  }

  /**
   * Starts checkpointing `file` every `options.intervalMs`. The file must be in WAL mode, retained in
   * `SqliteSharedMemory` by a connection that has read it (so its `-shm` exists), and released only after `stop()`;
   * returns undefined when it has no `-shm`.
   */
  static start(file: string, options: SqliteCheckpointOptions, onFailure: (reason: string) => void): SqliteWalCheckpointer | undefined {
    const shmFd = SqliteSharedMemory.descriptor(file);
    return shmFd === undefined ? undefined : new SqliteWalCheckpointer(file, shmFd, options, onFailure);
  }

  /** Calls `listener` after each checkpoint the worker ran; returns its removal. */
  onCheckpoint(listener: (result: SqliteCheckpointResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the timer and closes the worker's connection; resolves when the thread has exited. */
  async stop(): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    this.worker.postMessage('stop');
    await this.exited;
  }
}
