import type { LogSink } from './json-logger';

// Linux writes at most this many bytes to a pipe atomically: a write this size is never interleaved with another
// writer's and is either all in the pipe or not at all when a SIGKILL lands while it waits for room. Every write
// holds whole lines and no more than this, so a killed process never leaves half a line for the log collector.
const PIPE_BUF = 4096;

/** What a `TurnBufferedSink` needs from its process: the raw write, the end-of-turn hook and the exit hook. */
export interface TurnBufferedSinkDeps {
  write: (chunk: string) => void;
  afterTurn: (flush: () => void) => void;
  onExit: (flush: () => void) => void;
}

const processDeps: TurnBufferedSinkDeps = {
  write: (chunk) => {
    process.stdout.write(chunk);
  },
  afterTurn: (flush) => {
    setImmediate(flush);
  },
  onExit: (flush) => {
    process.once('exit', flush);
  },
};

/**
 * A sink that sends the lines written in one turn of the event loop together. A container's stdout is a pipe, and
 * Node writes to a pipe synchronously: at `info` every request cost a blocking `write` system call of its own.
 * The turn's lines leave at `setImmediate`, in order, in writes of whole lines up to PIPE_BUF bytes (a longer line
 * alone), and at once when the process exits (an `exit` handler runs no later turn; lines written after it go
 * straight out). So a line is late by at most the rest of its turn and only a SIGKILL loses the turn's lines.
 */
export function turnBufferedSink(deps: TurnBufferedSinkDeps = processDeps): LogSink {
  let buffered = '';
  let bufferedBytes = 0;
  let scheduled = false;
  let exited = false;
  const writeBuffered = () => {
    if (buffered === '') return;
    const chunk = buffered;
    buffered = '';
    bufferedBytes = 0;
    deps.write(chunk);
  };
  const endOfTurn = () => {
    scheduled = false;
    writeBuffered();
  };
  deps.onExit(() => {
    exited = true;
    writeBuffered();
  });
  return (line) => {
    if (exited) return deps.write(line);
    const bytes = Buffer.byteLength(line);
    if (bufferedBytes + bytes > PIPE_BUF) writeBuffered();
    if (bytes > PIPE_BUF) return deps.write(line);
    buffered += line;
    bufferedBytes += bytes;
    if (scheduled) return;
    scheduled = true;
    deps.afterTurn(endOfTurn);
  };
}

let shared: LogSink | undefined;

/** The process's one buffered stdout sink: every logger shares it, so their lines keep the order they were written in. */
export function stdoutSink(): LogSink {
  shared ??= turnBufferedSink();
  return shared;
}
